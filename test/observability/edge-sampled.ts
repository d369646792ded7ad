/**
 * The traced system for edge-sampling.test.ts with OTEL_TRACES_SAMPLER_ARG=0 (set by the
 * test): no request is sampled at the edge unless its caller sent a sampled `traceparent`.
 *
 * A realtor and a buyer sign up and the buyer books three times; the realtor confirms the
 * first booking plainly, the second with a caller's sampled `traceparent` and the third
 * with a caller's unsampled one, with the X-Request-Ids given as the arguments. Prints one JSON line: every finished span,
 * both processes' log lines, and the trace context the first booking's workflow start
 * carried.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import request from 'supertest';
import { bookingWorkflowId } from '../../contracts/bookings';
import { TRACE_HEADER } from '../../workflows/interceptors';
import { createProperty, requestBooking, serverSlot } from '../support/factories';
import { signUp } from '../support/users';
import { eventually } from '../support/wait';
import { record, startTracedSystem, type SpanRecord } from './traced-system';

export interface EdgeSampledOutput {
  statuses: number[];
  /** The trace id of the caller's `traceparent` on the second confirmation. */
  callerTraceId: string;
  /** The trace id of the caller's unsampled `traceparent` on the third confirmation. */
  unsampledCallerTraceId: string;
  spans: SpanRecord[];
  apiLog: Array<Record<string, unknown>>;
  workerLog: Array<Record<string, unknown>>;
  /** The trace context (traceparent, baggage) the first booking's workflow start carried. */
  firstBookingStart: Record<string, string> | null;
}

async function main(unsampledId: string, sampledId: string, callerUnsampledId: string): Promise<void> {
  const sys = await startTracedSystem('rfy-edge-test');
  const { t, env, client, tracing, exporter } = sys;
  try {
    const [realtor, buyer] = await Promise.all([signUp(t, 'realtor'), signUp(t, 'buyer')]);
    const propertyId = await createProperty(t, realtor);
    const first = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env) });
    const second = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env, 3) });
    const third = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env, 5) });
    const confirm = (id: number) => request(t.callback).put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
    const callerTraceId = randomBytes(16).toString('hex');
    const unsampledCallerTraceId = randomBytes(16).toString('hex');
    const statuses = [
      (await confirm(first.id).set('X-Request-Id', unsampledId)).status,
      (await confirm(second.id).set('X-Request-Id', sampledId).set('traceparent', `00-${callerTraceId}-${randomBytes(8).toString('hex')}-01`)).status,
      (await confirm(third.id).set('X-Request-Id', callerUnsampledId).set('traceparent', `00-${unsampledCallerTraceId}-${randomBytes(8).toString('hex')}-00`)).status,
    ];
    await eventually(
      'the spans of the sampled confirmation',
      async () => {
        await tracing.flush();
        return exporter.getFinishedSpans().some((s) => s.name === 'RunActivity:confirmBooking');
      },
      30_000,
    );
    await eventually(
      'the activity of the third confirmation',
      () => Promise.resolve(sys.workerLog.some((l) => l.msg === 'confirming the booking' && l.request_id === callerUnsampledId)),
      30_000,
    );
    const history = await client.workflow.getHandle(bookingWorkflowId(first.id)).fetchHistory();
    const header = history.events?.[0]?.workflowExecutionStartedEventAttributes?.header?.fields?.[TRACE_HEADER];
    const out: EdgeSampledOutput = {
      statuses,
      callerTraceId,
      unsampledCallerTraceId,
      spans: exporter.getFinishedSpans().map(record),
      apiLog: sys.apiLog,
      workerLog: sys.workerLog,
      firstBookingStart: header ? defaultPayloadConverter.fromPayload<Record<string, string>>(header) : null,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await sys.stop();
  }
}

main(process.argv[2]!, process.argv[3]!, process.argv[4]!).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
