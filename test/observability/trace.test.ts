import { runScript } from '../support/scripts';
import type { SpanRecord, TracedConfirmOutput } from './traced-confirm';

/**
 * One confirm request, traced: the HTTP span, the Temporal update, the activity the
 * workflow runs for it with its SQL, all one trace linked parent to child, and the trace
 * context on the start of the tour workflow the confirmation creates. The system runs in a process of its own (traced-confirm.ts), started
 * as the entry points start it, with an in-memory exporter.
 */
describe('tracing across API → workflow → activity → SQL', () => {
  const REQUEST_ID = 'trace-test-confirm-0001';
  let out: TracedConfirmOutput;
  let byId: Map<string, SpanRecord>;

  /** The span's ancestors, nearest first, as far as they were recorded. */
  const ancestors = (span: SpanRecord): SpanRecord[] => {
    const chain: SpanRecord[] = [];
    for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) chain.push(p);
    return chain;
  };
  const one = (name: string, where: (s: SpanRecord) => boolean = () => true): SpanRecord => {
    const found = out.spans.filter((s) => s.name === name && where(s));
    if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}: ${out.spans.map((s) => s.name).join(', ')}`);
    return found[0]!;
  };

  beforeAll(async () => {
    const run = await runScript(
      'test/observability/traced-confirm.ts',
      [REQUEST_ID],
      { DATABASE_URL: process.env.DATABASE_URL!, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
      120_000,
    );
    if (run.code !== 0) throw new Error(`traced-confirm exited with ${run.code}:\n${run.stderr}\n${run.stdout}`);
    out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as TracedConfirmOutput;
    byId = new Map(out.spans.map((s) => [s.spanId, s]));
  }, 150_000);

  it('when a realtor confirms, then the HTTP span, the update, the activity it causes and its SQL form one trace, which the tour workflow it starts carries on', () => {
    expect(out.status).toBe(200);
    // SpanKind.SERVER is 1.
    const http = one('PUT /api/v1/realtors/bookings/:id/confirm', (s) => s.kind === 1);
    expect(http.attributes).toMatchObject({ request_id: REQUEST_ID, 'http.route': '/api/v1/realtors/bookings/:id/confirm' });
    const trace = out.spans.filter((s) => s.traceId === http.traceId);

    const update = one('StartWorkflowUpdate:confirm');
    const run = one('RunActivity:confirmBooking');
    for (const s of [update, run]) {
      expect({ name: s.name, traceId: s.traceId }).toEqual({ name: s.name, traceId: http.traceId });
      expect([s.name, ancestors(s).map((a) => a.spanId)]).toEqual([s.name, expect.arrayContaining([http.spanId])]);
    }
    // Each step under the one that caused it: the update under the request's span, the
    // activity under the update (the workflow carries the context; it makes no spans).
    expect(ancestors(update)[0]).toEqual(http);
    expect(ancestors(run)[0]).toEqual(update);
    // The tour workflow the update started carries the same trace (and the request id) on:
    // its activities, whenever they run, continue it.
    expect(out.tourStartContext).toEqual({
      traceparent: expect.stringMatching(new RegExp(`^00-${http.traceId}-${update.spanId}-01$`)),
      baggage: `request.id=${REQUEST_ID}`,
    });
    expect(run.attributes).toMatchObject({ temporalWorkflowId: `booking-${out.bookingId}` });

    // The activity's SQL, under the activity (statement text only: no parameter values).
    const sql = trace.filter((s) => s.attributes['db.system.name'] === 'postgresql' || s.attributes['db.system'] === 'postgresql');
    const underActivity = sql.filter((s) => ancestors(s).some((a) => a.spanId === run.spanId));
    expect(underActivity.length).toBeGreaterThan(0);
    expect(underActivity.some((s) => /\b(update|insert)\b/i.test(String(s.attributes['db.query.text'] ?? s.attributes['db.statement'])))).toBe(true);
    for (const s of sql) expect(Object.keys(s.attributes).filter((k) => k.includes('parameter') || k.includes('values'))).toEqual([]);
    // The request's own SQL (the guard's user lookup) is under the HTTP span too.
    expect(sql.some((s) => !ancestors(s).some((a) => a.spanId === run.spanId))).toBe(true);
  });

  it('when the confirm is logged by the API and by the activity, then both lines carry its trace id and request id', () => {
    const http = one('PUT /api/v1/realtors/bookings/:id/confirm', (s) => s.kind === 1);
    const apiLine = out.apiLog.find((l) => l.msg === 'request' && l.request_id === REQUEST_ID);
    expect(apiLine).toMatchObject({ trace_id: http.traceId, request_id: REQUEST_ID, status: 200 });
    const workerLine = out.workerLog.find((l) => l.msg === 'confirming the booking');
    // The request id reaches the worker as baggage through the update and the workflow.
    expect(workerLine).toMatchObject({ trace_id: http.traceId, request_id: REQUEST_ID, span_id: one('RunActivity:confirmBooking').spanId });
  });

  it('when the booking workflow recorded with tracing is replayed with or without the workflow interceptors, then both replays succeed', () => {
    expect(out.replay).toEqual({ withInterceptors: null, withoutInterceptors: null });
  });

  it('when probes hit the API, then they make no spans, and the booking request before the confirm is a trace of its own', () => {
    const http = one('PUT /api/v1/realtors/bookings/:id/confirm', (s) => s.kind === 1);
    const book = one('POST /api/v1/buyers/bookings', (s) => s.kind === 1);
    const start = one('StartWorkflow:bookingWorkflow');
    expect(start.traceId).toBe(book.traceId);
    expect(book.traceId).not.toBe(http.traceId);
    // GET /health and /health/ready were asked (and answered 200) before the sign-ups.
    const servers = out.spans.filter((s) => s.kind === 1);
    expect(servers.filter((s) => /health|metrics/.test(s.name) || /health|metrics/.test(String(s.attributes['url.path'])))).toEqual([]);
    expect(servers.length).toBeGreaterThanOrEqual(6);
  });

  it('when URLs carry secrets (a shared-recap token in the path, a file signature in the query), then no span shows them', () => {
    const { token, signature, statuses } = out.secrets;
    // Unknown token, bad signature: refused, but traced all the same.
    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    const leaking = out.spans.filter((s) => JSON.stringify([s.name, s.attributes]).match(new RegExp(`${token}|${signature}`)));
    expect(leaking.map((s) => s.name)).toEqual([]);
    const shared = out.spans.filter((s) => s.kind === 1 && String(s.attributes['url.path']).startsWith('/api/v1/shared/'));
    expect(shared.map((s) => s.attributes['url.path'])).toEqual(['/api/v1/shared/:token']);
    const file = out.spans.find((s) => s.kind === 1 && String(s.attributes['url.path']).startsWith('/files/'));
    expect(file?.attributes['url.query']).toBe('expires=4102444800&signature=REDACTED');
  });
});
