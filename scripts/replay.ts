/**
 * Replays the histories a Temporal server holds against the workflow code in this working
 * tree, before that code is deployed:
 *
 *   npm run replay                         # open bookings and tours, and those closed in the last 7 days
 *   npm run replay -- --query "WorkflowType = 'tourWorkflow'" --limit 200
 *   npm run replay -- --workflows path/to/workflows.ts   # another workflows module
 *
 * Reaches TEMPORAL_ADDRESS (a staging server in CI), or the dev server of `npm start`
 * (127.0.0.1:TEMPORAL_DEV_PORT). Prints a line per workflow and a summary. Exit code 0:
 * everything replayed; 1: some history is nondeterministic with this code (do not deploy);
 * 2: nothing nondeterministic, but some histories could not be fetched or replayed.
 */
import path from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { ConfigError, getConfig, PROJECT_ROOT } from '../lib/config';
import { guardedInterceptors } from '../lib/closed-channel-guard';

/** Wrong command-line arguments: each problem on a line of its own. */
export class ArgumentError extends Error {
  constructor(readonly problems: string[]) {
    super(`replay: ${problems.join('\n  ')}`);
    this.name = 'ArgumentError';
  }
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export const DEFAULT_WORKFLOW_TYPES = ['bookingWorkflow', 'tourWorkflow'];

/** Every open booking and tour workflow, and those closed within `days`. */
export function defaultQuery(now: Date, days = 7): string {
  const since = new Date(now.getTime() - days * 86_400_000).toISOString();
  const types = DEFAULT_WORKFLOW_TYPES.map((t) => `WorkflowType = '${t}'`).join(' OR ');
  return `(${types}) AND (ExecutionStatus = 'Running' OR CloseTime > '${since}')`;
}

export type ReplayOutcome =
  | { workflowId: string; runId: string; status: 'ok' }
  | { workflowId: string; runId: string; status: 'nondeterministic'; eventId: number | null; message: string }
  | { workflowId: string; runId: string; status: 'fetch_failed' | 'replay_failed'; message: string };

export interface ReplaySummary {
  outcomes: ReplayOutcome[];
  replayed: number;
  nondeterministic: number;
  failed: number;
  exitCode: 0 | 1 | 2;
}

/** The first mismatching event of a nondeterminism report, when the message names one. */
export function mismatchEventId(message: string): number | null {
  const m = /HistoryEvent\(id: (\d+)/.exec(message) ?? /event(?:[ _]id)?[:= ]+(\d+)/i.exec(message);
  return m ? Number(m[1]) : null;
}

export interface ReplayOptions {
  client: Client;
  query: string;
  limit: number;
  /** The workflows module to replay against (a path `Worker.create` can bundle). */
  workflowsPath: string;
  /** A line per workflow as it is done. */
  print?: (line: string) => void;
}

export async function replayFromServer(opts: ReplayOptions): Promise<ReplaySummary> {
  const print = opts.print ?? (() => undefined);
  const fetched: Array<{ info: WorkflowExecutionInfo; history: History }> = [];
  const outcomes: ReplayOutcome[] = [];
  for await (const info of opts.client.workflow.list({ query: opts.query })) {
    if (fetched.length + outcomes.length >= opts.limit) break;
    try {
      const history = await opts.client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
      fetched.push({ info, history });
    } catch (err) {
      const o: ReplayOutcome = { workflowId: info.workflowId, runId: info.runId, status: 'fetch_failed', message: (err as Error).message };
      outcomes.push(o);
      print(`FETCH FAILED      ${info.workflowId} (${info.runId}): ${o.message}`);
    }
  }
  if (fetched.length) {
    const histories = fetched.map((f) => ({ workflowId: f.info.workflowId, history: f.history }));
    let i = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath: opts.workflowsPath, replayName: 'pre-deploy-replay' }, histories)) {
      const runId = fetched[i]?.info.runId ?? '';
      i += 1;
      let o: ReplayOutcome;
      if (!r.error) o = { workflowId: r.workflowId, runId, status: 'ok' };
      else if (r.error instanceof DeterminismViolationError) o = { workflowId: r.workflowId, runId, status: 'nondeterministic', eventId: mismatchEventId(r.error.message), message: r.error.message };
      else o = { workflowId: r.workflowId, runId, status: 'replay_failed', message: String((r.error as Error).message ?? r.error) };
      outcomes.push(o);
      if (o.status === 'ok') print(`ok                ${o.workflowId}`);
      else if (o.status === 'nondeterministic') print(`NONDETERMINISTIC  ${o.workflowId} at event ${o.eventId ?? '?'}: ${firstLine(o.message)}`);
      else print(`REPLAY FAILED     ${o.workflowId}: ${firstLine(o.message)}`);
    }
  }
  const count = (s: ReplayOutcome['status']) => outcomes.filter((o) => o.status === s).length;
  const nondeterministic = count('nondeterministic');
  const failed = count('fetch_failed') + count('replay_failed');
  const replayed = count('ok');
  return { outcomes, replayed, nondeterministic, failed, exitCode: nondeterministic ? 1 : failed ? 2 : 0 };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 400);
}

function parseArgs(argv: string[]): { query?: string; limit: number; workflows?: string } {
  const out: { query?: string; limit: number; workflows?: string } = { limit: 1000 };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined) throw new ArgumentError([`${a} needs a value`]);
      i += 1;
      return v;
    };
    if (a === '--query') out.query = value();
    else if (a === '--limit') {
      out.limit = Number(value());
      if (!Number.isInteger(out.limit) || out.limit < 1) throw new ArgumentError(['--limit must be a whole number of at least 1']);
    } else if (a === '--workflows') out.workflows = value();
    else throw new ArgumentError([`unknown option ${a} (known: --query, --limit, --workflows)`]);
  }
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const config = getConfig();
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.dev.port}`;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await Connection.connect({ address, interceptors: guardedInterceptors() }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${address} (${err.message}); start it (npm start) or set TEMPORAL_ADDRESS`);
  });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const query = args.query ?? defaultQuery(new Date());
    const workflowsPath = path.resolve(PROJECT_ROOT, args.workflows ?? 'workflows/index.ts');
    process.stdout.write(`replaying against ${path.relative(process.cwd(), workflowsPath)} from ${address} (${config.temporal.namespace}): ${query}\n`);
    const summary = await replayFromServer({ client, query, limit: args.limit, workflowsPath, print: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`\n${summary.replayed} replayed, ${summary.nondeterministic} nondeterministic, ${summary.failed} failed to fetch or replay\n`);
    return summary.exitCode;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof ConfigError || err instanceof ArgumentError ? err.message : `replay: ${(err as Error).message ?? String(err)}`}\n`);
      process.exit(2);
    },
  );
}
