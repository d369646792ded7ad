import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { BOOKING_REMINDER_LEAD_MS, bookingWorkflowId } from '../../contracts/bookings';
import { TOUR_STATUS, tourWorkflowId } from '../../contracts/tours';
import { createKnex } from '../../db/knex';
import { createLogger } from '../../lib/logger';
import { Phase, pool, request, RequestFailed, type PhaseStats } from './client';
import { analyseHistories, distribution, type Distribution, type HistoryStats } from './histories';
import { meterProcesses, type ProcessGroupStats } from './procs';
import type { Stack } from './stack';

/**
 * The tour-scale load: N realtor/buyer pairs, each through register → sign in → list a
 * property → book → confirm → start → both join → a note each → end → recap, over the
 * REST API with `concurrency` clients. Every pair finishes a step before any pair takes
 * the next, so after "join" all N calls are live at once (the "live calls" phase) and
 * only then does any end. Then the checks: every workflow completed, every email exactly
 * once, and what the histories and /proc say. Beside them, a few bookings of their own whose
 * 15-minute reminders fall due while the load runs measure the reminder lag (sent − due).
 */

export interface TourBenchOptions {
  tours: number;
  concurrency: number;
  say: (line: string) => void;
}

export interface EmailKindCheck {
  template: string;
  expected: number;
  sent: number;
  missing: number;
  duplicated: number;
  /** Rows not in status `sent` (pending or failed). */
  notSent: number;
}

/** The reminder bookings: their reminders (one to each side) counted and timed from the ledger. */
export interface ReminderCheck extends Omit<EmailKindCheck, 'template'> {
  bookings: number;
  /** The ledger's sent_at − the reminder's due time (scheduled_at − 15 minutes), per email. */
  lagMs: Distribution;
}

export interface TourBenchResult {
  startedAt: string;
  tours: number;
  concurrency: number;
  wallSeconds: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; loadAvgAtStart: number[] };
  phases: PhaseStats[];
  /** Calls in progress, both sides joined, at the moment between the join and end phases. */
  liveCalls: number;
  endToSummaryReadyMs: Distribution;
  workflowsCompleted: { booking: number; tour: number };
  emails: EmailKindCheck[];
  reminders: ReminderCheck;
  histories: HistoryStats;
  processes: ProcessGroupStats[];
  /** Everything that was not as it must be; empty when the run is correct. */
  problems: string[];
}

interface Person {
  email: string;
  token: string;
  id: number;
}

interface Pair {
  i: number;
  realtor?: Person;
  buyer?: Person;
  propertyId?: number;
  bookingId?: number;
  tourId?: number;
  callId?: number;
  endedAt?: number;
  broken: boolean;
}

const PASSWORD = 'bench-pass-123';
/** Booked this far ahead: startable at once with the bench's early-start window, and no reminder falls due during a run. */
const BOOK_AHEAD_MS = 3 * 3_600_000;
const RECAP_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 250;
/**
 * The reminder bookings are made and confirmed just before the main bookings, 15 minutes and
 * this much ahead: their workflows' timers fire 30 s later (the reminder's activity starts
 * BOOKING_REMINDER_HEADSTART_SECONDS, by default 60, before the reminder is due), in the
 * booking and confirm bursts at 500 tours, and the reminders fall due a minute after that.
 */
const REMINDER_DUE_IN_MS = 90_000;
/** How long after the last reminder's due time the check waits for it. */
const REMINDER_WAIT_MS = 60_000;

/** One reminder booking per ten tours, at least one and at most 50. */
export function reminderBookings(tours: number): number {
  return Math.min(50, Math.max(1, Math.ceil(tours / 10)));
}

/** Emails each pair must get exactly once per recipient (the welcome on sign-up included). */
const EXPECTED_EMAILS: Array<{ template: string; to: 'realtor' | 'buyer' | 'both' }> = [
  { template: 'welcome', to: 'both' },
  { template: 'booking-request', to: 'realtor' },
  { template: 'booking-confirmed', to: 'both' },
  { template: 'tour-start', to: 'both' },
  { template: 'tour-end', to: 'both' },
  { template: 'tour-summary', to: 'both' },
  // The buyer is asked for feedback once the call has ended (FeedbackWorkflow).
  { template: 'feedback-request', to: 'buyer' },
];

/** A failure as the report shows it: the request, the status and the error's message, not the whole envelope. */
function brief(example: string): string {
  const message = /"message":"([^"]*)"/.exec(example)?.[1];
  const head = example.split(' {')[0]!;
  return message ? `${head} "${message}"` : example.slice(0, 200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTourBench(stack: Stack, opts: TourBenchOptions): Promise<TourBenchResult> {
  const { say } = opts;
  const api = stack.apiUrl;
  const run = randomBytes(3).toString('hex');
  const pairs: Pair[] = Array.from({ length: opts.tours }, (_, i) => ({ i, broken: false }));
  const phases: PhaseStats[] = [];
  const problems: string[] = [];
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAvgAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100) };
  const meter = stack.rootPid ? meterProcesses(stack.rootPid) : undefined;

  /** One phase over `items`; a pair whose request fails is left out of the later phases. */
  const phase = async <T>(name: string, items: T[], pairOf: (item: T) => Pair, fn: (item: T, p: Phase) => Promise<void>) => {
    const p = new Phase(name);
    const live = items.filter((x) => !pairOf(x).broken);
    await pool(live, opts.concurrency, async (item) => {
      try {
        await fn(item, p);
      } catch (err) {
        pairOf(item).broken = true;
        throw err;
      }
    });
    const stats = p.finish();
    phases.push(stats);
    say(`${name}: ${stats.count} requests, ${stats.errors} errors${stats.deferred ? `, ${stats.deferred} answered 202 first` : ''}, ${stats.rps.toFixed(1)}/s, p50 ${stats.p50} ms, p95 ${stats.p95} ms, max ${stats.max} ms`);
    if (stats.errors) problems.push(`${name}: ${stats.errors} errors, e.g. ${stats.errorExamples.slice(0, 2).map(brief).join(' | ')}`);
  };
  const sides = pairs.flatMap((pair) => [{ pair, role: 'realtor' as const }, { pair, role: 'buyer' as const }]);
  const emailOf = (pair: Pair, role: 'realtor' | 'buyer') => `tours-${run}-${pair.i}-${role}@example.com`;

  // Each step of a pair, as the phases below (and the reminder bookings) take it.
  const register = async (pair: Pair, role: 'realtor' | 'buyer', p: Phase) => {
    await request(p, api, 'POST', '/api/v1/auth/register', { expect: 201, body: { full_name: `Bench ${role === 'realtor' ? 'Realtor' : 'Buyer'} ${pair.i}`, email: emailOf(pair, role), password: PASSWORD, role } });
  };
  const signIn = async (pair: Pair, role: 'realtor' | 'buyer', p: Phase) => {
    const res = await request(p, api, 'POST', '/api/v1/auth/login', { body: { email: emailOf(pair, role), password: PASSWORD } });
    const data = res.data as { attributes: { access_token: string }; relationships: { user: { data: { id: string } } } };
    pair[role] = { email: emailOf(pair, role), token: data.attributes.access_token, id: Number(data.relationships.user.data.id) };
  };
  const listProperty = async (pair: Pair, p: Phase) => {
    const res = await request(p, api, 'POST', '/api/v1/realtors/properties', {
      token: pair.realtor!.token,
      expect: 201,
      body: { address: `${pair.i + 1} Bench Road`, city: 'Benchville', mls_id: `BENCH-${run}-${pair.i}`, price: 300000 + pair.i },
    });
    pair.propertyId = Number(res.data!.id);
  };
  const book = async (pair: Pair, scheduledAt: string, p: Phase) => {
    const res = await request(p, api, 'POST', '/api/v1/buyers/bookings', {
      token: pair.buyer!.token,
      expect: 201,
      body: { property_id: pair.propertyId, scheduled_at: scheduledAt, duration_minutes: 30, notes: 'benchmark tour' },
    });
    pair.bookingId = Number(res.data!.id);
  };
  const confirm = async (pair: Pair, p: Phase) => {
    const res = await request(p, api, 'PUT', `/api/v1/realtors/bookings/${pair.bookingId}/confirm`, { token: pair.realtor!.token, idempotencyKey: `${run}-confirm-${pair.i}` });
    const data = res.data as unknown as { tour: { id: string }; call: { id: string } };
    pair.tourId = Number(data.tour.id);
    pair.callId = Number(data.call.id);
  };

  await phase('register', sides, (s) => s.pair, ({ pair, role }, p) => register(pair, role, p));
  await phase('sign in', sides, (s) => s.pair, ({ pair, role }, p) => signIn(pair, role, p));
  await phase('property', pairs, (x) => x, (pair, p) => listProperty(pair, p));

  // Pairs of their own (so the main pairs' emails stay exact), each booked 15 minutes and
  // REMINDER_DUE_IN_MS ahead and confirmed at once: their reminders fall due under the load.
  const reminderPairs: Pair[] = Array.from({ length: reminderBookings(opts.tours) }, (_, k) => ({ i: opts.tours + k, broken: false }));
  const reminderDue = new Map<number, number>();
  await phase('reminder bookings (setup)', reminderPairs, (x) => x, async (pair, p) => {
    for (const role of ['realtor', 'buyer'] as const) {
      await register(pair, role, p);
      await signIn(pair, role, p);
    }
    await listProperty(pair, p);
    const at = Math.ceil((Date.now() + BOOKING_REMINDER_LEAD_MS + REMINDER_DUE_IN_MS) / 1000) * 1000;
    await book(pair, new Date(at).toISOString(), p);
    await confirm(pair, p);
    reminderDue.set(pair.buyer!.id, at - BOOKING_REMINDER_LEAD_MS);
    reminderDue.set(pair.realtor!.id, at - BOOKING_REMINDER_LEAD_MS);
  });

  const scheduledAt = new Date(Math.ceil((Date.now() + BOOK_AHEAD_MS) / 3_600_000) * 3_600_000).toISOString();
  await phase('book', pairs, (x) => x, (pair, p) => book(pair, scheduledAt, p));
  await phase('confirm', pairs, (x) => x, (pair, p) => confirm(pair, p));
  await phase('start', pairs, (x) => x, async (pair, p) => {
    await request(p, api, 'POST', `/api/v1/realtors/tours/${pair.tourId}/start`, { token: pair.realtor!.token, idempotencyKey: `${run}-start-${pair.i}` });
  });
  await phase('join', sides, (s) => s.pair, async ({ pair, role }, p) => {
    await request(p, api, 'POST', `/api/v1/${role}s/calls/${pair.callId}/join`, { token: pair[role]!.token });
  });

  const knex = createKnex({ url: stack.databaseUrl, pool: { min: 0, max: 2 }, logger: createLogger({ logLevel: 'warn', env: 'production' }, 'bench-tours') });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace: stack.namespace });
  try {
    const tourIds = pairs.filter((x) => x.tourId !== undefined).map((x) => x.tourId!);
    const liveCalls = tourIds.length
      ? Number((await knex('tours').whereIn('id', tourIds).andWhere({ status: TOUR_STATUS.in_progress }).count({ n: '*' }).first())?.n ?? 0)
      : 0;
    say(`live calls: ${liveCalls} of ${opts.tours} tours in progress with both sides joined`);
    if (liveCalls !== opts.tours) problems.push(`live calls: ${liveCalls} of ${opts.tours} tours in progress before the first end`);

    await phase('note', sides, (s) => s.pair, async ({ pair, role }, p) => {
      await request(p, api, 'POST', `/api/v1/${role}s/tours/${pair.tourId}/notes`, {
        token: pair[role]!.token,
        expect: 201,
        body: { content: role === 'realtor' ? 'New roof in 2021, the kitchen was renovated last year.' : 'The garage is small; ask about the school district.', tag: role === 'realtor' ? 'feature' : 'concern' },
      });
    });
    await phase('end', pairs, (x) => x, async (pair, p) => {
      await request(p, api, 'POST', `/api/v1/realtors/tours/${pair.tourId}/end`, { token: pair.realtor!.token, idempotencyKey: `${run}-end-${pair.i}` });
      pair.endedAt = performance.now();
    });

    // Recap: each client watches its tours' summaries until ready; the polls are timed as their own phase.
    const polls = new Phase('recap (summary polls)');
    const ready: number[] = [];
    await pool(pairs.filter((x) => !x.broken), opts.concurrency, async (pair) => {
      const deadline = Date.now() + RECAP_TIMEOUT_MS;
      for (;;) {
        const res = await request(polls, api, 'GET', `/api/v1/buyers/tours/${pair.tourId}/summary`, { token: pair.buyer!.token });
        const status = (res.data?.attributes as { status?: string } | undefined)?.status;
        if (status === 'ready') {
          ready.push(performance.now() - pair.endedAt!);
          return;
        }
        if (status !== 'processing' || Date.now() > deadline) {
          pair.broken = true;
          problems.push(`tour ${pair.tourId}: summary ${status} ${Date.now() > deadline ? 'after the recap timeout' : ''}`.trim());
          throw new RequestFailed(`summary of tour ${pair.tourId}: ${status}`);
        }
        await sleep(POLL_MS);
      }
    });
    const pollStats = polls.finish();
    phases.push(pollStats);
    if (pollStats.errors) problems.push(`recap: ${pollStats.errors} summary reads failed, e.g. ${pollStats.errorExamples.slice(0, 2).map(brief).join(' | ')}`);
    const endToSummaryReadyMs = distribution(ready);
    say(`recap: ${ready.length} summaries ready, end → summary ready p50 ${endToSummaryReadyMs.p50} ms, p95 ${endToSummaryReadyMs.p95} ms, max ${endToSummaryReadyMs.max} ms`);
    if (ready.length !== opts.tours) problems.push(`recap: ${ready.length} of ${opts.tours} summaries ready`);

    // Every workflow of the run ends on its own once its tour is done: wait for that, bounded.
    const bookingIds = pairs.filter((x) => x.bookingId !== undefined).map((x) => bookingWorkflowId(x.bookingId!));
    const tourWfIds = tourIds.map(tourWorkflowId);
    const completed = async (ids: string[]) => {
      let n = 0;
      await pool(ids, 8, async (id) => {
        if ((await client.workflow.getHandle(id).describe()).status.name === 'COMPLETED') n += 1;
      });
      return n;
    };
    let workflowsCompleted = { booking: 0, tour: 0 };
    for (const deadline = Date.now() + 120_000; ; await sleep(1000)) {
      workflowsCompleted = { booking: await completed(bookingIds), tour: await completed(tourWfIds) };
      if ((workflowsCompleted.booking === opts.tours && workflowsCompleted.tour === opts.tours) || Date.now() > deadline) break;
    }
    say(`workflows completed: ${workflowsCompleted.booking} bookings, ${workflowsCompleted.tour} tours`);
    if (workflowsCompleted.booking !== opts.tours) problems.push(`${workflowsCompleted.booking} of ${opts.tours} booking workflows completed`);
    if (workflowsCompleted.tour !== opts.tours) problems.push(`${workflowsCompleted.tour} of ${opts.tours} tour workflows completed`);

    const emails = await checkEmails(knex, pairs, say);
    for (const e of emails) {
      if (e.missing || e.duplicated || e.notSent || e.sent !== e.expected) problems.push(`emails ${e.template}: ${e.sent} of ${e.expected}, ${e.missing} missing, ${e.duplicated} duplicated, ${e.notSent} not sent`);
    }
    const reminders = await checkReminders(knex, reminderDue, reminderPairs.length);
    say(`reminders: ${reminders.sent} of ${reminders.expected} sent, lag (sent − due) p50 ${reminders.lagMs.p50} ms, p99 ${reminders.lagMs.p99} ms, max ${reminders.lagMs.max} ms`);
    if (reminders.missing || reminders.duplicated || reminders.notSent || reminders.sent !== reminders.expected) problems.push(`reminders: ${reminders.sent} of ${reminders.expected} sent, ${reminders.missing} missing, ${reminders.duplicated} duplicated, ${reminders.notSent} not sent`);
    // Their tours would otherwise wait for a start that never comes: cancelled, they end.
    await phase('reminder bookings (cancel)', reminderPairs, (x) => x, async (pair, p) => {
      if (pair.bookingId === undefined) return;
      await request(p, api, 'DELETE', `/api/v1/buyers/bookings/${pair.bookingId}`, { token: pair.buyer!.token, body: { reason: 'benchmark over' }, idempotencyKey: `${run}-cancel-${pair.i}` });
    });
    const processes = meter?.stop() ?? [];
    const wallSeconds = (performance.now() - t0) / 1000;

    say('reading the workflow histories');
    const histories = await analyseHistories(client, { booking: bookingIds, tour: tourWfIds });
    return {
      startedAt,
      tours: opts.tours,
      concurrency: opts.concurrency,
      wallSeconds,
      machine,
      phases,
      liveCalls,
      endToSummaryReadyMs,
      workflowsCompleted,
      emails,
      reminders,
      histories,
      processes,
      problems,
    };
  } finally {
    meter?.stop();
    await connection.close();
    await knex.destroy();
  }
}

/**
 * The reminder bookings' reminders from the ledger: one to each side, each timed from its due
 * time to the ledger's sent_at. Waits until all are sent or REMINDER_WAIT_MS after the last
 * due time.
 */
async function checkReminders(knex: ReturnType<typeof createKnex>, dueByUser: Map<number, number>, bookings: number): Promise<ReminderCheck> {
  type Row = { recipient_user_id: string | number; status: string; sent_at: Date | null };
  const userIds = [...dueByUser.keys()];
  const read = async (): Promise<Row[]> =>
    userIds.length ? knex('notifications').whereIn('recipient_user_id', userIds).andWhere({ template: 'booking-reminder' }).select('recipient_user_id', 'status', 'sent_at') : [];
  const lastDue = Math.max(0, ...dueByUser.values());
  let rows = await read();
  while (!(rows.length >= userIds.length && rows.every((r) => r.status === 'sent')) && Date.now() < lastDue + REMINDER_WAIT_MS) {
    await sleep(500);
    rows = await read();
  }
  const sent = rows.filter((r) => r.status === 'sent' && r.sent_at);
  const perUser = new Map<number, number>();
  for (const r of sent) perUser.set(Number(r.recipient_user_id), (perUser.get(Number(r.recipient_user_id)) ?? 0) + 1);
  return {
    bookings,
    expected: userIds.length,
    sent: sent.length,
    missing: userIds.filter((id) => !perUser.has(id)).length,
    duplicated: [...perUser.values()].reduce((s, n) => s + n - 1, 0),
    notSent: rows.length - sent.length,
    lagMs: distribution(sent.map((r) => new Date(r.sent_at!).getTime() - dueByUser.get(Number(r.recipient_user_id))!)),
  };
}

/**
 * Emails per kind from the notifications ledger (every message is recorded there before
 * the provider is called), for the run's users only. The notices are sent beside the
 * lifecycle, so the last ones may trail the recap: wait until every expected one is there
 * (or a minute has passed), then count.
 */
async function checkEmails(knex: ReturnType<typeof createKnex>, pairs: Pair[], say: (line: string) => void): Promise<EmailKindCheck[]> {
  const expected = new Map<string, Set<number>>(EXPECTED_EMAILS.map((e) => [e.template, new Set<number>()]));
  for (const pair of pairs) {
    for (const e of EXPECTED_EMAILS) {
      if (e.to !== 'buyer' && pair.realtor) expected.get(e.template)!.add(pair.realtor.id);
      if (e.to !== 'realtor' && pair.buyer) expected.get(e.template)!.add(pair.buyer.id);
    }
  }
  const userIds = pairs.flatMap((x) => [x.realtor?.id, x.buyer?.id]).filter((id): id is number => id !== undefined);
  const total = [...expected.values()].reduce((s, v) => s + v.size, 0);
  type Row = { template: string; recipient_user_id: string | number; status: string };
  const read = async (): Promise<Row[]> => (userIds.length ? knex('notifications').whereIn('recipient_user_id', userIds).select('template', 'recipient_user_id', 'status') : []);
  let rows = await read();
  for (const deadline = Date.now() + 60_000; !(rows.length >= total && rows.every((r) => r.status !== 'pending')) && Date.now() < deadline; rows = await read()) await sleep(1000);
  const templates = new Set([...expected.keys(), ...rows.map((r) => r.template)]);
  const out: EmailKindCheck[] = [];
  for (const template of templates) {
    const want = expected.get(template) ?? new Set<number>();
    const of = rows.filter((r) => r.template === template);
    const seen = new Map<number, number>();
    for (const r of of) seen.set(Number(r.recipient_user_id), (seen.get(Number(r.recipient_user_id)) ?? 0) + 1);
    out.push({
      template,
      expected: want.size,
      sent: of.length,
      missing: [...want].filter((id) => !seen.has(id)).length,
      // A second message of a kind to one person, or any message of a kind nobody should get.
      duplicated: [...seen].reduce((s, [id, n]) => s + (want.has(id) ? n - 1 : n), 0),
      notSent: of.filter((r) => r.status !== 'sent').length,
    });
  }
  say(`emails: ${out.map((e) => `${e.template} ${e.sent}/${e.expected}`).join(', ')}`);
  return out;
}
