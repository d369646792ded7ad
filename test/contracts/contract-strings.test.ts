import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as bookingsContract from '../../contracts/bookings';
import * as imagesContract from '../../contracts/images';
import * as toursContract from '../../contracts/tours';
import { PROJECT_ROOT } from '../../lib/config';
import { scanSource, type Hit, type Vocabulary } from './contract-strings';

// The strings each contract owns. Taken from the contract's exports where it has them; a
// contract still being written falls back to today's values, spelled out here once.
type Exports = Record<string, unknown>;
const list = (contract: Exports, name: string, fallback: readonly string[]): readonly string[] => {
  const value = contract[name];
  return Array.isArray(value) ? (value as string[]) : fallback;
};
const failures = (contract: Exports, name: string, fallback: readonly string[]): readonly string[] => {
  const value = contract[name];
  return value && typeof value === 'object' ? Object.values(value as Record<string, string>) : fallback;
};
const idPrefix = (contract: Exports, name: string, fallback: string): string => {
  const make = contract[name];
  return typeof make === 'function' ? String((make as (id: number) => string)(0)).replace(/0$/, '') : fallback;
};

const bookings = bookingsContract as unknown as Exports;
const tours = toursContract as unknown as Exports;
const images = imagesContract as unknown as Exports;

const vocabulary: Vocabulary = {
  statuses: {
    bookings: list(bookings, 'BOOKING_STATUSES', ['pending', 'confirmed', 'declined', 'cancelled', 'expired', 'completed']),
    tours: list(tours, 'TOUR_STATUSES', ['scheduled', 'in_progress', 'processing', 'completed', 'cancelled', 'processing_failed']),
    images: list(images, 'IMAGE_STATUSES', ['pending', 'processing', 'ready', 'failed']),
  },
  failureTypes: [
    ...failures(bookings, 'BOOKING_FAILURES', ['InvalidTransition', 'SlotTaken']),
    ...failures(tours, 'TOUR_FAILURES', ['InvalidTourTransition', 'ProcessingStepFailed']),
    ...failures(images, 'IMAGE_FAILURES', ['ImageRejected']),
  ],
  workflowIdPrefixes: [
    idPrefix(bookings, 'bookingWorkflowId', 'booking-'),
    idPrefix(tours, 'tourWorkflowId', 'tour-'),
    idPrefix(images, 'imageWorkflowId', 'image-'),
  ],
};

const SCANNED = ['api', 'workflows', 'activities'];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

const scan = (file: string, text: string) => scanSource(file, text, vocabulary);
const texts = (hits: Hit[]) => hits.map((h) => `${h.kind}: ${h.text}`);

describe('contract strings', () => {
  it('when api/, workflows/ and activities/ are read, then no status, failure type or workflow id is spelled outside contracts/', () => {
    const hits = SCANNED.flatMap(sourceFiles).flatMap((file) => scan(file, readFileSync(path.join(PROJECT_ROOT, file), 'utf8')));
    // One line per hit, file:line first, so the failure says where to import from contracts/ instead.
    expect(hits.map((h) => `${h.file}:${h.line} ${h.kind} ${h.text}`)).toEqual([]);
  });

  it('when a contract is loaded, then its strings are the ones scanned for', () => {
    // Guards the scan against an empty vocabulary (which would pass anything).
    expect(vocabulary.statuses.bookings).toEqual(expect.arrayContaining(['pending', 'confirmed', 'cancelled']));
    expect(vocabulary.statuses.tours).toEqual(expect.arrayContaining(['scheduled', 'processing_failed']));
    expect(vocabulary.statuses.images).toEqual(expect.arrayContaining(['ready', 'failed']));
    expect(vocabulary.failureTypes).toEqual(expect.arrayContaining(['InvalidTransition', 'SlotTaken', 'InvalidTourTransition', 'ProcessingStepFailed', 'ImageRejected']));
    expect(vocabulary.workflowIdPrefixes).toEqual(['booking-', 'tour-', 'image-']);
  });

  describe('the scanner', () => {
    it('when statuses are compared, assigned, stored, listed or passed to a transition, then each is a hit', () => {
      const code = [
        "if (tour.status === 'cancelled') skip();",
        "const open = booking.status !== 'pending';",
        "switch (booking.status) { case 'confirmed': break; }",
        "await knex('bookings').where({ property_id: 1, status: 'confirmed' });",
        "await knex('bookings').where('status', 'declined');",
        "await db.transitionBooking(id, 'expired', {});",
        "this.setStage('in_progress');",
        "booking.allow(['pending'], 'completed');",
        "const BOOKING_TERMINAL = new Set(['declined', 'cancelled', 'expired', 'completed', 'missing']);",
        "type BookingStatus = 'pending' | 'confirmed' | 'declined';",
        "interface ImageResult { status: 'ready' }",
        "row.status = 'processing_failed';",
        "const s = ok ? { status: 'completed' } : null;",
      ].join('\n');
      // A tour file: its own statuses need no further hint; other domains' are named on the line.
      expect(scan('workflows/tour.workflow.ts', code).map((h) => h.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 12, 13]);
    });

    it('when a failure type or a workflow id is spelled, then it is a hit', () => {
      const code = [
        "throw ApplicationFailure.nonRetryable('taken', 'SlotTaken');",
        "if (err.type === 'InvalidTourTransition') return;",
        'const id = `booking-${bookingId}`;',
        "client.workflow.getHandle('tour-' + tourId);",
        'await client.workflow.start(imageProcessingWorkflow, { workflowId: `image-${imageId}` });',
      ].join('\n');
      expect(texts(scan('probe.ts', code))).toEqual([
        "failure type: 'SlotTaken'",
        "failure type: 'InvalidTourTransition'",
        'workflow id: `booking-${bookingId}`',
        "workflow id: 'tour-'",
        'workflow id: `image-${imageId}`',
      ]);
    });

    it('when the same words mean something else, then they are not hits', () => {
      const code = [
        '// InvalidTransition and `booking-${id}` in a comment',
        "notices.push({ kind: 'confirmed', discriminator: 'once' });",
        "audit.record({ action: 'booking.cancelled' });",
        'const key = `recordings/tour-${tourId}`;',
        'const uid = `booking-${b.id}@realtyforyou`;',
        "await trx('calls').insert({ tour_id: 1, chime_meeting_id: `tour-${tourId}` });",
        "if (verdict === 'expired') deny();",
        "const LISTING = ['active', 'coming_soon', 'pending', 'closed', 'expired'];",
        "const reason = 'The tour was cancelled';",
        "import { ImageRejectedError } from './inspect';",
        "import { BOOKING_STATUSES } from '../contracts/bookings';",
        // A tour file: 'ready' and 'failed' are image statuses, but here a step's or a health check's.
        "if (step?.status === 'failed') retry();",
        "this.state.steps[step] = { status: 'failed', detail };",
        "sendData(ctx, resource('health', 'readiness', { status: 'ready' }));",
        "function artifactStatus(): { status: ArtifactStatus } { return { status: 'processing' }; }",
        "const url = status === 'ready' ? sign() : null;",
      ].join('\n');
      expect(texts(scan('api/tours/service.ts', code))).toEqual([]);
    });
  });
});
