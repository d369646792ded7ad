import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { sendData } from './envelope';
import type { Actor } from './routing';
import { withRules } from './schemas';
import type { UpdateOutcome } from './workflow-errors';

/**
 * Workflow commands (confirm, decline, cancel, reschedule, start, end) safe to retry.
 *
 * A command sent with an `Idempotency-Key` is remembered in `idempotency_keys` (the table
 * booking creation uses: one key per user, whatever it was used for) with what it asked,
 * and reaches the workflow as a Workflow Update whose id is derived from the user and the
 * key. Temporal runs an update once per id and hands a repeat the first one's outcome (still
 * running: the repeat waits for it; finished: its result, even once the workflow has ended),
 * so a retry after a timeout, a 202, a lost answer or a concurrent duplicate attaches to the
 * first attempt instead of running again. Once an answer was given the row is marked
 * completed and a later retry is answered from the database alone. The same key with a
 * different request is a 422, as for creation.
 */

/** Where a retry's answer comes from. */
export type CommandAnswer<Done, Pending> =
  | { state: 'completed'; value: Done; replayed: boolean }
  | { state: 'accepted'; value: Pending; replayed: boolean };

/** What one command asks: the kind (`booking_confirm`), the entity it acts on, and the rest of the request. */
export interface CommandRequest {
  key: string | undefined;
  kind: string;
  resourceId: number;
  request: unknown;
}

export interface CommandSteps<T> {
  /** Checks of the API's own, for a command not yet sent (a replay or a retry of one sent skips them). */
  before?: () => Promise<void>;
  /**
   * Whether what the command asks is already so by this actor's doing (a confirm of a
   * booking the same realtor confirmed): then it is answered as done without being sent, or
   * after the workflow refused it because it was.
   */
  settled?: () => Promise<boolean>;
  /** Sends the command under this update id (undefined: one of Temporal's own). */
  send: (updateId: string | undefined) => Promise<UpdateOutcome<T>>;
}

/** A finished command's result, or undefined when it was answered without the workflow (replayed, or already so). */
export type CommandOutcome<T> = { state: 'completed'; result: T | undefined; replayed: boolean } | { state: 'accepted'; replayed: boolean };

interface KeyRow {
  id: number;
  request_hash: string;
  resource_type: string;
  resource_id: number | string;
  completed_at: Date | null;
}

/** JSON with every object's keys in order, so equal requests hash equal however their keys were sent. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function commandHash(cmd: Pick<CommandRequest, 'kind' | 'resourceId' | 'request'>): string {
  return createHash('sha256').update(canonical({ kind: cmd.kind, resource: cmd.resourceId, request: cmd.request ?? null })).digest('hex');
}

/** The update id of a user's key: the same on every retry, and on every API instance. */
export const commandUpdateId = (userId: number, key: string) => `idempotency-key:${userId}:${key}`;

const reused = () => new AppError(422, 'UNPROCESSABLE_ENTITY', 'This Idempotency-Key was used for a different request', 'Idempotency-Key');

export class CommandIdempotency {
  constructor(private readonly knex: Knex) {}

  private find(userId: number, key: string): Promise<KeyRow | undefined> {
    return this.knex('idempotency_keys').where({ user_id: userId, key }).first<KeyRow | undefined>('id', 'request_hash', 'resource_type', 'resource_id', 'completed_at');
  }

  private check(row: KeyRow, cmd: CommandRequest, hash: string): KeyRow {
    if (row.request_hash !== hash || row.resource_type !== cmd.kind || Number(row.resource_id) !== cmd.resourceId) throw reused();
    return row;
  }

  /** The key's row, made now (false) or found made by an earlier or concurrent attempt (true). */
  private async claim(actor: Actor, cmd: CommandRequest & { key: string }, hash: string, completed: boolean): Promise<{ row: KeyRow; existed: boolean }> {
    const inserted = await this.knex('idempotency_keys')
      .insert({ user_id: actor.user.id, key: cmd.key, request_hash: hash, resource_type: cmd.kind, resource_id: cmd.resourceId, completed_at: completed ? this.knex.fn.now() : null })
      .onConflict(['user_id', 'key'])
      .ignore()
      .returning<KeyRow[]>(['id', 'request_hash', 'resource_type', 'resource_id', 'completed_at']);
    if (inserted[0]) return { row: inserted[0], existed: false };
    const row = await this.find(actor.user.id, cmd.key);
    // Gone again between the two statements: only when its user was deleted meanwhile.
    if (!row) throw new AppError(409, 'CONFLICT', 'This Idempotency-Key is in use by a request that has not finished');
    return { row: this.check(row, cmd, hash), existed: true };
  }

  private async complete(row: KeyRow): Promise<void> {
    if (!row.completed_at) await this.knex('idempotency_keys').where({ id: row.id }).whereNull('completed_at').update({ completed_at: this.knex.fn.now() });
  }

  /**
   * Runs a command once per key. Without a key it is simply sent (with `before` and
   * `settled` applied). A refusal or any error leaves the key as it was: a retry with it sends
   * the same update again, which Temporal answers as it did the first time.
   */
  async run<T>(actor: Actor, cmd: CommandRequest, steps: CommandSteps<T>): Promise<CommandOutcome<T>> {
    const { key } = cmd;
    const hash = commandHash(cmd);
    let row: KeyRow | undefined;
    let existed = false;
    if (key) {
      row = await this.find(actor.user.id, key);
      if (row) {
        existed = true;
        this.check(row, cmd, hash);
        if (row.completed_at) return { state: 'completed', result: undefined, replayed: true };
      }
    }
    if (!existed) {
      await steps.before?.();
      if (await steps.settled?.()) {
        if (key) {
          const claimed = await this.claim(actor, { ...cmd, key }, hash, true);
          await this.complete(claimed.row);
          return { state: 'completed', result: undefined, replayed: claimed.existed };
        }
        return { state: 'completed', result: undefined, replayed: false };
      }
      if (key) ({ row, existed } = await this.claim(actor, { ...cmd, key }, hash, false));
      if (row?.completed_at) return { state: 'completed', result: undefined, replayed: true };
    }
    let outcome: UpdateOutcome<T>;
    try {
      outcome = await steps.send(key ? commandUpdateId(actor.user.id, key) : undefined);
    } catch (err) {
      // Refused because it is already so (a concurrent repeat won the race): answered as done.
      if (err instanceof AppError && err.status === 409 && steps.settled && (await steps.settled())) {
        if (row) await this.complete(row);
        return { state: 'completed', result: undefined, replayed: existed };
      }
      throw err;
    }
    if (outcome.state === 'completed' && row) await this.complete(row);
    return outcome.state === 'completed' ? { ...outcome, replayed: existed } : { state: 'accepted', replayed: existed };
  }
}

/** The `Idempotency-Key` request header of a command route. */
export const commandKeyHeaders = withRules(
  z.object({
    'Idempotency-Key': z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,255}$/, 'must be 1-255 characters of letters, digits and . _ : -')
      .optional()
      .describe(
        'any string of yours, unique per intended command: repeating the command with the same key (after a timeout, a 202, a lost answer) never runs it twice and answers as the first attempt did, or with its outcome once finished',
      ),
  }),
  [{ rule: 'unique-per-request', field: 'Idempotency-Key', description: 'an Idempotency-Key already used for another request (another command, resource or body) is refused (422 naming it)' }],
);

/** The responses every command route adds to its own: the 202 of a command still at work, the 422 of a reused key. */
export function commandResponses(accepted: { what: string; data: z.ZodType }) {
  return {
    202: {
      description: `The workflow took the command but has not finished it within WORKFLOW_COMMAND_WAIT_MS: ${accepted.what} as it is now, with a Location header naming it to poll. Repeat the request with the same Idempotency-Key for the final answer (the command is not run twice).`,
      data: accepted.data,
    },
    422: { description: 'The Idempotency-Key was used for a different request' },
  };
}

/**
 * Sends a command's answer: 200 with the finished command's body, or 202 with the resource
 * as it is now and its `Location`; `Idempotent-Replayed: true` when an earlier attempt with
 * the same key had already sent the command.
 */
export async function answerCommand<Done, Pending>(
  ctx: Context,
  answer: CommandAnswer<Done, Pending>,
  location: string,
  present: { completed: (value: Done) => Parameters<typeof sendData>[1] | Promise<Parameters<typeof sendData>[1]>; accepted: (value: Pending) => Parameters<typeof sendData>[1] | Promise<Parameters<typeof sendData>[1]> },
): Promise<void> {
  if (answer.replayed) ctx.set('Idempotent-Replayed', 'true');
  if (answer.state === 'completed') return sendData(ctx, await present.completed(answer.value));
  ctx.set('Location', location);
  sendData(ctx, await present.accepted(answer.value), 202);
}
