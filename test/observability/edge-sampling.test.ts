import { runScript } from '../support/scripts';
import type { EdgeSampledOutput } from './edge-sampled';

/**
 * Head sampling at the edge (OTEL_TRACES_SAMPLER_ARG below 1): a request the edge does not
 * sample makes no span anywhere, in the API or in the worker, yet its log lines and the
 * workflows it starts still carry its request id and one trace id; a caller's sampled
 * `traceparent` is followed, whatever the ratio. The system runs in a process of its own
 * (edge-sampled.ts) with the ratio at 0.
 */
describe('edge sampling', () => {
  const UNSAMPLED_ID = 'edge-unsampled-0001';
  const SAMPLED_ID = 'edge-sampled-0002';
  const CALLER_UNSAMPLED_ID = 'edge-caller-unsampled-0003';
  let out: EdgeSampledOutput;

  beforeAll(async () => {
    const run = await runScript(
      'test/observability/edge-sampled.ts',
      [UNSAMPLED_ID, SAMPLED_ID, CALLER_UNSAMPLED_ID],
      { DATABASE_URL: process.env.DATABASE_URL!, NODE_ENV: 'test', LOG_LEVEL: 'silent', OTEL_TRACES_SAMPLER_ARG: '0' },
      120_000,
    );
    if (run.code !== 0) throw new Error(`edge-sampled exited with ${run.code}:\n${run.stderr}\n${run.stdout}`);
    out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as EdgeSampledOutput;
  }, 150_000);

  it('when no request is sampled at the edge but one caller sends a sampled traceparent, then every recorded span is of that caller\'s trace, down to the activity', () => {
    expect(out.statuses).toEqual([200, 200, 200]);
    expect([...new Set(out.spans.map((s) => s.traceId))]).toEqual([out.callerTraceId]);
    const server = out.spans.filter((s) => s.kind === 1);
    expect(server.map((s) => s.attributes.request_id)).toEqual([SAMPLED_ID]);
    expect(out.spans.map((s) => s.name)).toEqual(expect.arrayContaining(['RunActivity:confirmBooking']));
  });

  it('when a request is not sampled, then the workflow it starts carries an unsampled trace context and its request id', () => {
    expect(out.firstBookingStart).toEqual({
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/),
      baggage: expect.stringMatching(/(^|,)request\.id=[^,]+/),
    });
  });

  it('when an unsampled request is logged by the API and by the activity it causes, then both lines carry its request id and the same trace id', () => {
    const apiLine = out.apiLog.find((l) => l.msg === 'request' && l.request_id === UNSAMPLED_ID);
    const workerLine = out.workerLog.find((l) => l.msg === 'confirming the booking' && l.request_id === UNSAMPLED_ID);
    expect(apiLine).toMatchObject({ status: 200, trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(workerLine).toMatchObject({ trace_id: apiLine!.trace_id });
    expect(apiLine!.trace_id).not.toBe(out.callerTraceId);
  });

  it('when a caller sends an unsampled traceparent, then nothing of its trace is recorded, and the API and the activity log its trace id', () => {
    expect(out.spans.filter((s) => s.traceId === out.unsampledCallerTraceId)).toEqual([]);
    const apiLine = out.apiLog.find((l) => l.msg === 'request' && l.request_id === CALLER_UNSAMPLED_ID);
    const workerLine = out.workerLog.find((l) => l.msg === 'confirming the booking' && l.request_id === CALLER_UNSAMPLED_ID);
    expect(apiLine).toMatchObject({ status: 200, trace_id: out.unsampledCallerTraceId });
    expect(workerLine).toMatchObject({ trace_id: out.unsampledCallerTraceId });
  });
});
