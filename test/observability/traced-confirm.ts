/**
 * The traced system for trace.test.ts, run as a process of its own (traced-system.ts),
 * every request traced (the default sampling).
 *
 * A realtor and a buyer sign up, the buyer books, and the realtor confirms with the
 * X-Request-Id given as the argument. Prints one JSON line: every finished span, and the
 * log lines of the API and the worker.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import request from 'supertest';
import { bookingWorkflowId } from '../../contracts/bookings';
import { tourWorkflowId } from '../../contracts/tours';
import { replayCodeOptions } from '../../workers/worker';
import { TRACE_HEADER } from '../../workflows/interceptors';
import { createProperty, requestBooking, serverSlot } from '../support/factories';
import { signUp } from '../support/users';
import { eventually } from '../support/wait';
import { record, startTracedSystem, type SpanRecord } from './traced-system';

export type { SpanRecord } from './traced-system';

export interface TracedConfirmOutput {
  bookingId: number;
  status: number;
  spans: SpanRecord[];
  apiLog: Array<Record<string, unknown>>;
  workerLog: Array<Record<string, unknown>>;
  /** The trace context (W3C traceparent, baggage) the tour workflow's start carried, as its history holds it. */
  tourStartContext: Record<string, string> | null;
  /** The booking workflow's history so far, replayed with and without the workflow interceptors: the error, if any. */
  replay: { withInterceptors: string | null; withoutInterceptors: string | null };
  /** Requests whose URLs carry secrets (a shared-recap token, a file link's signature): what was asked, and the statuses. */
  secrets: { token: string; signature: string; statuses: number[] };
}

async function main(requestId: string): Promise<void> {
  const sys = await startTracedSystem('rfy-trace-test');
  const { t, env, client, tracing, exporter } = sys;
  try {
    // Probes are answered but never traced.
    for (const probe of ['/health', '/health/ready']) {
      const status = (await request(t.callback).get(probe)).status;
      if (status !== 200) throw new Error(`${probe} answered ${status}`);
    }
    const [realtor, buyer] = await Promise.all([signUp(t, 'realtor'), signUp(t, 'buyer')]);
    const propertyId = await createProperty(t, realtor);
    const booking = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env) });
    const res = await request(t.callback)
      .put(`/api/v1/realtors/bookings/${booking.id}/confirm`)
      .set(realtor.auth)
      .set('X-Request-Id', requestId);
    // The confirmation's activity.
    await eventually(
      'the spans of the confirmation',
      async () => {
        await tracing.flush();
        const spans = exporter.getFinishedSpans();
        return spans.some((s) => s.name === 'RunActivity:confirmBooking');
      },
      30_000,
    );
    // The tour workflow the confirmation started: the trace context its start carried.
    const tourId = Number((res.body as { data: { tour: { id: string } } }).data.tour.id);
    const tourHistory = await client.workflow.getHandle(tourWorkflowId(tourId)).fetchHistory();
    const header = tourHistory.events?.[0]?.workflowExecutionStartedEventAttributes?.header?.fields?.[TRACE_HEADER];
    const tourStartContext = header ? defaultPayloadConverter.fromPayload<Record<string, string>>(header) : null;
    // Recorded with tracing on: replayed with the workflow interceptors (as every worker
    // runs) and without them, it must succeed both ways: they change no command's timing.
    const history = await client.workflow.getHandle(bookingWorkflowId(booking.id)).fetchHistory();
    const replay = async (withInterceptors: boolean) => {
      const options = withInterceptors ? replayCodeOptions() : { workflowsPath: require.resolve('../../workflows') };
      return Worker.runReplayHistory({ ...options, replayName: withInterceptors ? 'with' : 'without' }, history).then(
        () => null,
        (err: Error) => `${err.name}: ${err.message}`,
      );
    };
    // URLs with secrets in them: a shared recap's token in the path, a file link's signature in the query.
    const token = 'tracedsecrettoken0123456789abcdefghijklmnop';
    const signature = 'feedfacecafebeef0123456789feedfacecafebeef0123456789feedfacecafe';
    const statuses = [
      (await request(t.callback).get(`/api/v1/shared/${token}`)).status,
      (await request(t.callback).get(`/files/properties/1/x.jpg?expires=4102444800&signature=${signature}`)).status,
    ];
    await tracing.flush();
    const out: TracedConfirmOutput = {
      bookingId: booking.id,
      status: res.status,
      spans: exporter.getFinishedSpans().map(record),
      apiLog: sys.apiLog,
      workerLog: sys.workerLog,
      tourStartContext,
      replay: { withInterceptors: await replay(true), withoutInterceptors: await replay(false) },
      secrets: { token, signature, statuses },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await sys.stop();
  }
}

main(process.argv[2] ?? 'trace-test-confirm-0001').then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
