import { DeterminismViolationError } from '@temporalio/workflow';
import { OWN_NOTICES_LOCAL_PATCH, REMINDER_AT_DUE_PATCH } from '../../workflows/booking.workflow';
import { patchIds, type History } from '../fixtures/history-json';
import { committedHistories, historyFiles, installReplayRuntime, replayHistories } from './support/replay';

/**
 * Committed BookingWorkflow histories (test/fixtures/histories/booking-*.json, recorded by
 * `node --import tsx test/tools/record-booking-history.ts`) replayed against the real
 * workflow bundle: a change to the workflow that would break bookings already running
 * fails here.
 *
 * booking-legacy-*.json were recorded with the workflow as it was before the
 * 'booking-loop-waits-for-commands' patch (commit cf2bb82): a booking confirmed and
 * reminded, still running. They stand for workflows in flight when that change shipped,
 * and are never re-recorded.
 *
 * booking-pre11-*.json were recorded with the workflow as it was before it became a state
 * class (issue 11, the closure over mutable locals of commit da41570): the class must
 * issue the same commands in the same order.
 *
 * booking-local-*.json are the workflow's local-steps path ('booking-local-db-steps', issue
 * 12): its database steps local activities, one timer for the expiry and the reminder, its
 * tour awaited as a child (no tourFinished signal). booking-ahead-*.json are that path with
 * the reminder's activity started ahead of its time ('booking-reminder-at-due', issue 12):
 * it waits until the reminder's time itself. booking-ownmail-*.json are that path with the
 * workflow's own notices (request, expiry, the tour's cancellation) sent as local activities
 * ('booking-own-notices-local', issue 12). The other booking-*.json, recorded before those
 * paths, keep replaying on the path they ran.
 */

/** What each recorded story must contain, so a re-recording cannot quietly lose a path. */
const EXPECTED: Record<string, { updates: string[]; signals: string[]; timersFired: number; patched: boolean; status: string | null; reminderAhead?: true; ownNoticesLocal?: true }> = {
  // The local-steps path with the reminder's activity started ahead of its time (its patch marker).
  'booking-ahead-confirm-cancel': { updates: ['confirm', 'cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled', reminderAhead: true },
  'booking-ahead-confirm-reschedule-complete': { updates: ['confirm', 'reschedule'], signals: [], timersFired: 2, patched: true, status: 'completed', reminderAhead: true },
  'booking-ahead-request-cancel': { updates: ['cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled', reminderAhead: true },
  'booking-ahead-request-decline': { updates: ['decline'], signals: [], timersFired: 0, patched: true, status: 'declined', reminderAhead: true },
  'booking-ahead-request-expire': { updates: [], signals: [], timersFired: 2, patched: true, status: 'expired', reminderAhead: true },
  'booking-confirm-cancel': { updates: ['confirm', 'cancel'], signals: ['tourFinished'], timersFired: 0, patched: true, status: 'cancelled' },
  'booking-confirm-reschedule-complete': { updates: ['confirm', 'reschedule'], signals: ['tourFinished'], timersFired: 1, patched: true, status: 'completed' },
  'booking-legacy-confirmed-reminded': { updates: ['confirm'], signals: [], timersFired: 1, patched: false, status: null },
  'booking-local-confirm-cancel': { updates: ['confirm', 'cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled' },
  // The pending wait wakes at the old reminder time first, then the moved one's.
  'booking-local-confirm-reschedule-complete': { updates: ['confirm', 'reschedule'], signals: [], timersFired: 2, patched: true, status: 'completed' },
  'booking-local-request-cancel': { updates: ['cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled' },
  'booking-local-request-decline': { updates: ['decline'], signals: [], timersFired: 0, patched: true, status: 'declined' },
  // Woken at the reminder's time first (a confirmation would keep that timer), then at its expiry.
  'booking-local-request-expire': { updates: [], signals: [], timersFired: 2, patched: true, status: 'expired' },
  // That path with the workflow's own notices sent as local activities (their patch marker).
  'booking-ownmail-confirm-cancel': { updates: ['confirm', 'cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled', reminderAhead: true, ownNoticesLocal: true },
  'booking-ownmail-confirm-reschedule-complete': { updates: ['confirm', 'reschedule'], signals: [], timersFired: 2, patched: true, status: 'completed', reminderAhead: true, ownNoticesLocal: true },
  'booking-ownmail-request-cancel': { updates: ['cancel'], signals: [], timersFired: 0, patched: true, status: 'cancelled', reminderAhead: true, ownNoticesLocal: true },
  'booking-ownmail-request-decline': { updates: ['decline'], signals: [], timersFired: 0, patched: true, status: 'declined', reminderAhead: true, ownNoticesLocal: true },
  'booking-ownmail-request-expire': { updates: [], signals: [], timersFired: 2, patched: true, status: 'expired', reminderAhead: true, ownNoticesLocal: true },
  'booking-pre11-confirm-cancel': { updates: ['confirm', 'cancel'], signals: ['tourFinished'], timersFired: 0, patched: true, status: 'cancelled' },
  'booking-pre11-confirm-reschedule-complete': { updates: ['confirm', 'reschedule'], signals: ['tourFinished'], timersFired: 1, patched: true, status: 'completed' },
  'booking-pre11-request-cancel': { updates: ['cancel'], signals: [], timersFired: 0, patched: false, status: 'cancelled' },
  'booking-pre11-request-decline': { updates: ['decline'], signals: [], timersFired: 0, patched: false, status: 'declined' },
  'booking-pre11-request-expire': { updates: [], signals: [], timersFired: 1, patched: false, status: 'expired' },
  'booking-request-cancel': { updates: ['cancel'], signals: [], timersFired: 0, patched: false, status: 'cancelled' },
  'booking-request-expire': { updates: [], signals: [], timersFired: 1, patched: false, status: 'expired' },
};

const files = historyFiles('booking-');
const histories = () => committedHistories(files);
const replay = (workflowsPath: string) => replayHistories(workflowsPath, 'booking-replay', histories());

function summary(history: History) {
  const events = history.events ?? [];
  const result = events.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data;
  return {
    type: events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
    updates: events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []),
    signals: events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []),
    timersFired: events.filter((e) => e.timerFiredEventAttributes).length,
    patched: events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
    status: result ? (JSON.parse(Buffer.from(result).toString('utf8')) as { status: string }).status : null,
    ...(patchIds(history).includes(REMINDER_AT_DUE_PATCH) ? { reminderAhead: true as const } : {}),
    ...(patchIds(history).includes(OWN_NOTICES_LOCAL_PATCH) ? { ownNoticesLocal: true as const } : {}),
  };
}

describe('BookingWorkflow replay of committed histories', () => {
  beforeAll(installReplayRuntime);

  it('when the fixtures are read, then each recorded story is there as a whole BookingWorkflow history, finished unless legacy', () => {
    expect(files).toEqual(Object.keys(EXPECTED).map((name) => `${name}.json`));
    for (const { workflowId, history } of histories()) {
      expect({ workflowId, ...summary(history) }).toEqual({ workflowId, type: 'bookingWorkflow', ...EXPECTED[workflowId] });
    }
  });

  it('when the committed histories are replayed against the current workflows bundle, then none of them fails', async () => {
    const results = await replay(require.resolve('../../workflows'));
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error })).sort((a, b) => a.workflowId.localeCompare(b.workflowId))).toEqual(
      Object.keys(EXPECTED).map((workflowId) => ({ workflowId, error: undefined })),
    );
  });

  it('when the workflow code changes incompatibly (an extra activity at the start), then replaying the same histories reports non-determinism for each', async () => {
    const results = await replay(require.resolve('../fixtures/histories/booking-changed.workflows'));
    expect(results).toHaveLength(files.length);
    for (const r of results) expect({ workflowId: r.workflowId, error: r.error }).toEqual({ workflowId: r.workflowId, error: expect.any(DeterminismViolationError) });
  });
});
