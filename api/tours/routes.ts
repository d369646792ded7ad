import { z } from 'zod';
import type { TourView } from '../../db/repositories/tours.repository';
import { resource, sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec, type RouteInput } from '../routing';
import { answerCommand, commandKeyHeaders, commandResponses } from '../idempotency';
import { idParams } from '../schemas';
import {
  adminTourUpdateBody,
  bulkRetryBody,
  bulkRetryResult,
  callResource,
  highlightsArtifact,
  joinData,
  noteBody,
  noteResource,
  recordBody,
  recordingArtifact,
  summaryArtifact,
  tourListQuery,
  tourResource,
  transcriptArtifact,
} from './schemas';
import { presentCall, presentTour } from './presenter';
import type { TourCommandAnswer, TourService } from './service';

type Area = 'realtors' | 'buyers' | 'admin';
type Input = RouteInput<{ id: number }, unknown, unknown>;

const tagOf = (area: Area, what: string) => `${area === 'admin' ? 'Admin' : area === 'realtors' ? 'Realtor' : 'Buyer'}: ${what}`;

export function tourRoutes(tours: TourService, limits: { recordingMaxBytes: number }): AnyRouteSpec[] {
  const notFound = { 404: { description: 'No such tour (or not yours)' } };
  const conflict = { 409: { description: 'Not possible in the tour\'s current state; the message says why' } };
  const present = async (t: TourView) => presentTour(t, { property_address: t.property_address, call_id: t.call_id, steps: await tours.steps(t.id) });
  const sendTour = async (ctx: Parameters<AnyRouteSpec['handler']>[0], t: TourView) => sendData(ctx, await present(t));
  /** A command's answer: 200 with the tour, or 202 with it and where to poll it. */
  const answerTour = (ctx: Parameters<AnyRouteSpec['handler']>[0], answer: TourCommandAnswer, area: Area) =>
    answerCommand(ctx, answer, `/api/v1/${area}/tours/${answer.value.id}`, { completed: present, accepted: present });

  const reads = (area: Area): AnyRouteSpec[] => {
    const tag = tagOf(area, 'tours');
    const base = `/api/v1/${area}/tours`;
    const artifact = (name: 'recording' | 'transcript' | 'highlights' | 'summary', data: z.ZodType, summary: string) =>
      defineRoute({
        method: 'get',
        path: `${base}/:id/${name}`,
        summary,
        tags: [tag],
        params: idParams,
        responses: { 200: { description: `The ${name} with its status (processing, ready, skipped, failed)`, data }, ...notFound },
        async handler(ctx, input) {
          const actor = actorOf(input);
          sendData(ctx, resource(name, input.params.id, await tours[name](actor, input.params.id)));
        },
      });
    return [
      defineRoute({
        method: 'get',
        path: base,
        summary: area === 'admin' ? 'All tours (stuck=true: failed or stalled processing)' : 'Your tours',
        tags: [tag],
        query: area === 'admin' ? tourListQuery.safeExtend({ stuck: z.enum(['true', 'false']).optional().describe('only tours whose processing failed or stalled') }) : tourListQuery,
        responses: { 200: { description: 'A page of tours', data: z.array(tourResource), paginated: true } },
        async handler(ctx, input) {
          const q = input.query as z.infer<typeof tourListQuery> & { stuck?: string };
          const { items, meta } = await tours.list(actorOf(input), { ...q, stuck: q.stuck === 'true' });
          sendPage(ctx, await Promise.all(items.map(present)), meta);
        },
      }),
      defineRoute({
        method: 'get',
        path: `${base}/:id`,
        summary: 'Get a tour with its processing steps',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: 'The tour', data: tourResource }, ...notFound },
        async handler(ctx, input) {
          await sendTour(ctx, await tours.get(actorOf(input), input.params.id));
        },
      }),
      artifact('recording', recordingArtifact, 'The tour recording (a presigned, expiring URL when ready)'),
      artifact('transcript', transcriptArtifact, 'The transcript with time-stamped segments'),
      artifact('highlights', highlightsArtifact, 'Highlights, each tied to a time in the tour'),
      artifact('summary', summaryArtifact, 'The AI-generated summary'),
    ];
  };

  const notes = (area: 'realtors' | 'buyers'): AnyRouteSpec[] => {
    const tag = tagOf(area, 'tours');
    return [
      defineRoute({
        method: 'get',
        path: `/api/v1/${area}/tours/:id/notes`,
        summary: 'Time-stamped notes taken during the tour',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: 'The notes', data: z.array(noteResource) }, ...notFound },
        async handler(ctx, input) {
          const rows = await tours.notes(actorOf(input), input.params.id);
          sendData(ctx, rows.map((n) => resource('tour_note', n.id, { user_id: n.user_id, content: n.content, tag: n.tag, timestamp_ms: n.timestamp_ms === null ? null : Number(n.timestamp_ms), created_at: new Date(n.created_at).toISOString() })));
        },
      }),
      defineRoute({
        method: 'post',
        path: `/api/v1/${area}/tours/:id/notes`,
        summary: 'Add a note while the tour is in progress (or shortly after); timestamp_ms defaults to now',
        tags: [tag],
        params: idParams,
        body: noteBody,
        responses: { 201: { description: 'The note', data: noteResource }, ...notFound, ...conflict },
        async handler(ctx, input) {
          const n = await tours.addNote(actorOf(input), input.params.id, input.body);
          sendData(ctx, resource('tour_note', n.id, { user_id: n.user_id, content: n.content, tag: n.tag, timestamp_ms: Number(n.timestamp_ms), created_at: new Date(n.created_at).toISOString() }), 201);
        },
      }),
    ];
  };

  const calls = (area: 'realtors' | 'buyers'): AnyRouteSpec[] => {
    const tag = tagOf(area, 'calls');
    const base = `/api/v1/${area}/calls/:id`;
    const specs: AnyRouteSpec[] = [
      defineRoute({
        method: 'get',
        path: base,
        summary: 'Get a call',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: 'The call', data: callResource }, 404: { description: 'No such call (or not yours)' } },
        async handler(ctx, input) {
          sendData(ctx, presentCall((await tours.getCall(actorOf(input), input.params.id)).call));
        },
      }),
      defineRoute({
        method: 'post',
        path: `${base}/join`,
        summary: 'Join the live call: the meeting and your own attendee, shaped as Chime returns them',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: '{ Meeting, Attendee }', data: joinData }, 404: { description: 'No such call' }, ...conflict },
        async handler(ctx, input) {
          sendData(ctx, (await tours.join(actorOf(input), input.params.id)) as never);
        },
      }),
      defineRoute({
        method: 'post',
        path: `${base}/leave`,
        summary: 'Leave the call',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: 'The call', data: callResource }, 404: { description: 'No such call' }, ...conflict },
        async handler(ctx, input: Input) {
          const actor = actorOf(input);
          await tours.leave(actor, input.params.id);
          sendData(ctx, presentCall((await tours.getCall(actor, input.params.id)).call));
        },
      }),
      defineRoute({
        method: 'get',
        path: `${base}/recording`,
        summary: 'The recording of the call\'s tour',
        tags: [tag],
        params: idParams,
        responses: { 200: { description: 'The recording with its status', data: recordingArtifact }, 404: { description: 'No such call' } },
        async handler(ctx, input) {
          const actor = actorOf(input);
          const { tour } = await tours.getCall(actor, input.params.id);
          sendData(ctx, resource('recording', tour.id, await tours.recording(actor, tour.id)));
        },
      }),
    ];
    if (area === 'realtors') {
      specs.push(
        defineRoute({
          method: 'post',
          path: `${base}/end`,
          summary: 'End the call (and the tour); processing begins',
          tags: [tag],
          params: idParams,
          headers: commandKeyHeaders,
          responses: {
            200: { description: 'The tour, now processing', data: tourResource },
            ...commandResponses({ what: 'the tour', data: tourResource }),
            404: { description: 'No such call' },
            ...conflict,
          },
          async handler(ctx, input) {
            const answer = await tours.endCall(actorOf(input), input.params.id, input.headers['Idempotency-Key']);
            await answerTour(ctx, answer, 'realtors');
          },
        }),
        defineRoute({
          method: 'post',
          path: `${base}/record`,
          summary: 'Start or stop recording the call',
          tags: [tag],
          params: idParams,
          body: recordBody,
          responses: { 200: { description: 'The call', data: callResource }, 404: { description: 'No such call' }, ...conflict },
          async handler(ctx, input) {
            const actor = actorOf(input);
            await tours.record(actor, input.params.id, input.body.action === 'start');
            sendData(ctx, presentCall((await tours.getCall(actor, input.params.id)).call));
          },
        }),
      );
    }
    return specs;
  };

  const realtorTag = tagOf('realtors', 'tours');
  const adminTag = tagOf('admin', 'tours');
  return [
    ...reads('realtors'),
    defineRoute({
      method: 'post',
      path: '/api/v1/realtors/tours/:id/start',
      summary: 'Start the tour: creates the meeting (from TOUR_EARLY_START_MINUTES before its time)',
      tags: [realtorTag],
      params: idParams,
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The tour, in progress', data: tourResource },
        ...commandResponses({ what: 'the tour', data: tourResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        await answerTour(ctx, await tours.start(actorOf(input), input.params.id, input.headers['Idempotency-Key']), 'realtors');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/realtors/tours/:id/end',
      summary: 'End the tour; processing begins',
      tags: [realtorTag],
      params: idParams,
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The tour, now processing', data: tourResource },
        ...commandResponses({ what: 'the tour', data: tourResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        await answerTour(ctx, await tours.end(actorOf(input), input.params.id, input.headers['Idempotency-Key']), 'realtors');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/realtors/tours/:id/recording',
      summary: 'Upload a recording made outside the call (audio or video, judged by content); processing uses it',
      tags: [realtorTag],
      params: idParams,
      multipart: { field: 'recording', maxBytes: limits.recordingMaxBytes, description: 'the audio or video file', streamed: true },
      responses: {
        201: { description: 'The stored recording', data: recordingArtifact },
        ...notFound,
        ...conflict,
        413: { description: 'File too large (refused as it streams; nothing is kept)' },
        415: { description: 'Not an audio or video file' },
      },
      async handler(ctx, input) {
        sendData(ctx, resource('recording', input.params.id, await tours.uploadRecording(actorOf(input), input.params.id, input.upload)), 201);
      },
    }),
    ...notes('realtors'),
    ...calls('realtors'),

    ...reads('buyers'),
    ...notes('buyers'),
    ...calls('buyers'),

    ...reads('admin').slice(0, 2),
    defineRoute({
      method: 'put',
      path: '/api/v1/admin/tours/:id',
      summary: 'Correct a tour\'s summary (it stays marked AI-generated, with the editor noted)',
      tags: [adminTag],
      params: idParams,
      body: adminTourUpdateBody,
      responses: { 200: { description: 'The tour', data: tourResource }, ...notFound },
      async handler(ctx, input) {
        await sendTour(ctx, await tours.editSummary(actorOf(input), input.params.id, input.body.summary));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/admin/tours/:id',
      summary: 'Cancel a tour (through its booking)',
      tags: [adminTag],
      params: idParams,
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The tour', data: tourResource },
        ...commandResponses({ what: 'the tour', data: tourResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        await answerTour(ctx, await tours.cancel(actorOf(input), input.params.id, input.headers['Idempotency-Key']), 'admin');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/admin/tours/retry',
      summary: 'Resume every tour parked in processing_failed (optionally only at one step, or since a time), at a bounded rate; each resume audit-logged',
      tags: [adminTag],
      body: bulkRetryBody,
      responses: { 200: { description: 'What matched, what was resumed, what could not be', data: bulkRetryResult } },
      async handler(ctx, input) {
        const b = input.body as z.infer<typeof bulkRetryBody>;
        const summary = await tours.retryParked(actorOf(input), { step: b.step, since: b.since ? new Date(b.since) : undefined, limit: b.limit, dryRun: b.dry_run, perSecond: b.per_second });
        sendData(ctx, resource('tour_retry_batch', 'bulk', { ...summary }));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/admin/tours/:id/retry',
      summary: 'Resume a tour whose processing failed, from the failed step (finished steps are not redone)',
      tags: [adminTag],
      params: idParams,
      responses: { 200: { description: 'The tour, processing again', data: tourResource }, ...notFound, ...conflict },
      async handler(ctx, input) {
        await sendTour(ctx, await tours.retry(actorOf(input), input.params.id));
      },
    }),
  ];
}
