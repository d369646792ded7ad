import { percentile } from '../load';

/**
 * The benchmark's HTTP client: plain fetch, every request timed into the phase it belongs
 * to, and a pool that keeps `concurrency` requests in flight, one client per slot, the way
 * that many users clicking at once would.
 */

export interface PhaseStats {
  name: string;
  count: number;
  errors: number;
  /** Commands first answered 202 (not finished within WORKFLOW_COMMAND_WAIT_MS), timed until their final answer. */
  deferred: number;
  /** A few of the failures, as `METHOD path → status body`, to say what went wrong. */
  errorExamples: string[];
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class Phase {
  private readonly times: number[] = [];
  private errors = 0;
  private deferredCount = 0;
  private readonly examples: string[] = [];
  private readonly t0 = performance.now();
  private t1: number | undefined;

  constructor(readonly name: string) {}

  record(ms: number): void {
    this.times.push(ms);
  }

  /** A command answered 202 first. */
  deferred(): void {
    this.deferredCount += 1;
  }

  fail(ms: number, what: string): void {
    this.times.push(ms);
    this.errors += 1;
    if (this.examples.length < 5) this.examples.push(what);
  }

  finish(): PhaseStats {
    this.t1 ??= performance.now();
    const sorted = [...this.times].sort((a, b) => a - b);
    const seconds = (this.t1 - this.t0) / 1000;
    const round = (n: number) => (Number.isNaN(n) ? 0 : Math.round(n));
    return {
      name: this.name,
      count: sorted.length,
      errors: this.errors,
      deferred: this.deferredCount,
      errorExamples: this.examples,
      seconds,
      rps: seconds > 0 ? sorted.length / seconds : 0,
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? NaN),
    };
  }
}

export class RequestFailed extends Error {}

export interface Json {
  data?: Record<string, unknown> & { id?: string; attributes?: Record<string, unknown> };
  [k: string]: unknown;
}

const TIMEOUT_MS = 120_000;

/** How often a command answered 202 is repeated (same Idempotency-Key) for its final answer. */
const DEFERRED_POLL_MS = 250;

/**
 * One request, timed into `phase`; throws RequestFailed unless the status is `expect`. With
 * `idempotencyKey` it is a workflow command: answered 202 (still at work in its workflow
 * after WORKFLOW_COMMAND_WAIT_MS), it is repeated with the same key until it has its final
 * answer, and timed from the first send to that answer — what a client waits.
 */
export async function request(
  phase: Phase,
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; expect?: number; idempotencyKey?: string } = {},
): Promise<Json> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  const t0 = performance.now();
  let status: number;
  let text: string;
  try {
    for (let deferred = false; ; ) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
      if (!(opts.idempotencyKey && status === 202 && performance.now() - t0 < TIMEOUT_MS)) break;
      if (!deferred) phase.deferred();
      deferred = true;
      await new Promise((r) => setTimeout(r, DEFERRED_POLL_MS));
    }
  } catch (err) {
    const ms = performance.now() - t0;
    phase.fail(ms, `${method} ${path} → ${err instanceof Error ? err.message : String(err)}`);
    throw new RequestFailed(`${method} ${path}: ${String(err)}`);
  }
  const ms = performance.now() - t0;
  if (status !== (opts.expect ?? 200)) {
    phase.fail(ms, `${method} ${path} → ${status} ${text.slice(0, 300)}`);
    throw new RequestFailed(`${method} ${path}: ${status} ${text.slice(0, 300)}`);
  }
  phase.record(ms);
  return text ? (JSON.parse(text) as Json) : {};
}

/** `fn` over `items`, at most `concurrency` at a time; failures are counted by the phase, not thrown. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const slot = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err) => {
        if (!(err instanceof RequestFailed)) throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, slot));
}
