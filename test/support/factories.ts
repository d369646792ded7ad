import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type request from 'supertest';
import type { TestApp } from './app';
import { httpOf, type Target } from './http';
import { signUp, signUpAdmin, uniqueEmail, type SignedIn } from './users';

/**
 * The test data factory: users, properties, bookings and tours, made the way a client
 * makes them (over HTTP, so policies run and bookings get their workflows), plus direct
 * inserts for tests where the API is not the point. Every helper throws with the status
 * and body when the API refuses, so a broken setup fails where it happened.
 */

export type { SignedIn } from './users';
export type { Http, Target } from './http';

/** Anyone who calls the API with a bearer token. */
export interface Caller {
  auth: { Authorization: string };
}

function refused(what: string, res: request.Response): Error {
  return new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
}

let sequence = 0;
/** Unique across test files running at once (each its own process) and within one. */
function nextUnique(): string {
  sequence += 1;
  return `${sequence}-${randomBytes(3).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------
// Users: signed up and signed in, with auth headers (see users.ts)

export const createBuyer = (target: Target, name = 'Bea Buyer'): Promise<SignedIn> => signUp(target, 'buyer', name);
export const createRealtor = (target: Target, name = 'Rita Realtor'): Promise<SignedIn> => signUp(target, 'realtor', name);

/** `n` buyers named by `name(i)`, signed up five at a time (each sign-up hashes a password). */
export async function createBuyers(target: Target, n: number, name: (i: number) => string = (i) => `Buyer ${i}`): Promise<SignedIn[]> {
  const buyers: SignedIn[] = [];
  for (let i = 0; i < n; i += 5) {
    buyers.push(...(await Promise.all(Array.from({ length: Math.min(5, n - i) }, (_, j) => createBuyer(target, name(i + j))))));
  }
  return buyers;
}

/** An admin made the way `npm run create-admin` makes one (there is no admin sign-up route). */
export const createAdmin = (t: TestApp, knex: Knex): Promise<SignedIn> => signUpAdmin(t, knex);

/** A `users` row only: no identity, so it cannot sign in. For tests of data, not of access. */
export async function insertUser(knex: Knex, role: 'buyer' | 'realtor' | 'admin', overrides: Record<string, unknown> = {}): Promise<{ id: number; email: string }> {
  const unique = nextUnique();
  const [row] = await knex('users')
    .insert({ full_name: `Inserted ${role}`, email: uniqueEmail(role), cognito_sub: `factory-${unique}`, role, ...overrides })
    .returning(['id', 'email']);
  return { id: Number(row.id), email: row.email };
}

// ---------------------------------------------------------------------------------------
// Properties

/** The listing fields a realtor sends, unique where the database wants them unique. */
export function propertyFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const unique = nextUnique();
  return { address: `${100 + sequence} Factory Lane`, city: 'Springfield', mls_id: `FACTORY-${unique}`, price: 250000, ...overrides };
}

/** Lists a property through the API as `realtor`; returns its id. */
export async function createProperty(target: Target, realtor: Caller, overrides: Record<string, unknown> = {}): Promise<number> {
  const res = await httpOf(target)().post('/api/v1/realtors/properties').set(realtor.auth).send(propertyFields(overrides));
  if (res.status !== 201) throw refused('create property', res);
  return Number(res.body.data.id);
}

/** A `properties` row inserted directly; owned by `realtor_id`, else by a new inserted realtor. */
export async function insertProperty(knex: Knex, overrides: Record<string, unknown> & { realtor_id?: number } = {}): Promise<{ id: number; realtorId: number }> {
  const realtorId = overrides.realtor_id ?? (await insertUser(knex, 'realtor')).id;
  const [row] = await knex('properties')
    .insert({ ...propertyFields(), realtor_id: realtorId, ...overrides })
    .returning(['id']);
  return { id: Number(row.id), realtorId };
}

/**
 * Many `properties` rows in one statement, in the order given (so their ids follow it):
 * each row exactly as given (with `realtor_id`), for data sets a test lays out itself.
 */
export async function insertProperties(knex: Knex, rows: Array<Record<string, unknown> & { realtor_id: number }>): Promise<number[]> {
  if (!rows.length) return [];
  const inserted = await knex('properties').insert(rows).returning(['id']);
  return inserted.map((row: { id: number | string }) => Number(row.id));
}

// ---------------------------------------------------------------------------------------
// Bookings and tours: through the API, so the BookingWorkflow (and on confirm the
// TourWorkflow) runs. Confirming needs a worker on the app's task queue.

const HOUR = 3_600_000;
/** Far enough ahead that no expiry or reminder timer is due while a test runs. */
const FIRST_SLOT = Math.ceil((Date.now() + 3 * 24 * HOUR) / HOUR) * HOUR;
let slots = 0;

/**
 * A fresh start time, three hours after the previous one, so one buyer's bookings made
 * with default times never overlap. Tests that need a tour startable now pass their own.
 */
export function nextSlot(): string {
  slots += 1;
  return new Date(FIRST_SLOT + slots * 3 * HOUR).toISOString();
}

/**
 * A whole hour at least two hours after the Temporal server's clock (which a time-skipping
 * test may have moved ahead of the wall clock), `n` two-hour slots later: a tour that a test
 * with a long TOUR_EARLY_START_MINUTES can start at once.
 */
export async function serverSlot(env: { currentTimeMs(): Promise<number> }, n = 0): Promise<string> {
  return new Date(Math.ceil(((await env.currentTimeMs()) + 2 * HOUR) / HOUR) * HOUR + n * 2 * HOUR).toISOString();
}

export interface BookingOptions {
  scheduledAt?: string;
  durationMinutes?: number;
  notes?: string;
}

export interface RequestedBooking {
  id: number;
  propertyId: number;
  scheduledAt: string;
}

/** A buyer's booking request (status pending); returns its id and time. */
export async function requestBooking(target: Target, buyer: Caller, propertyId: number, opts: BookingOptions = {}): Promise<RequestedBooking> {
  const scheduledAt = opts.scheduledAt ?? nextSlot();
  const body: Record<string, unknown> = { property_id: propertyId, scheduled_at: scheduledAt, duration_minutes: opts.durationMinutes ?? 30 };
  if (opts.notes !== undefined) body.notes = opts.notes;
  const res = await httpOf(target)().post('/api/v1/buyers/bookings').set(buyer.auth).send(body);
  if (res.status !== 201) throw refused('request booking', res);
  return { id: Number(res.body.data.id), propertyId, scheduledAt };
}

export interface ConfirmedTour {
  bookingId: number;
  tourId: number;
  callId: number;
}

/** The realtor confirms: the booking's workflow creates the tour and its call. */
export async function confirmBooking(target: Target, realtor: Caller, bookingId: number): Promise<ConfirmedTour> {
  const res = await httpOf(target)().put(`/api/v1/realtors/bookings/${bookingId}/confirm`).set(realtor.auth);
  if (res.status !== 200) throw refused('confirm booking', res);
  return { bookingId, tourId: Number(res.body.data.tour.id), callId: Number(res.body.data.call.id) };
}

/**
 * A tour: `buyer` books `realtor`'s property (a new one listed through the API unless
 * `propertyId` is given) and the realtor confirms.
 */
export async function createTour(
  target: Target,
  people: { realtor: Caller; buyer: Caller },
  opts: BookingOptions & { propertyId?: number } = {},
): Promise<ConfirmedTour & RequestedBooking> {
  const propertyId = opts.propertyId ?? (await createProperty(target, people.realtor));
  const booking = await requestBooking(target, people.buyer, propertyId, opts);
  return { ...booking, ...(await confirmBooking(target, people.realtor, booking.id)) };
}

// ---------------------------------------------------------------------------------------
// Bookings and tours as rows only: no workflow runs for them. For tests of data, uploads
// and listings, where the lifecycle is not the point.

export interface InsertedBooking {
  id: number;
  propertyId: number;
  realtorId: number;
  buyerId: number;
  scheduledAt: Date;
}

/**
 * A `bookings` row for `property_id`: the property's realtor, a new inserted buyer unless
 * `buyer_id` is given, at the next free slot unless `scheduled_at` is; the table's
 * defaults (pending, 30 minutes) unless overridden.
 */
export async function insertBooking(
  knex: Knex,
  fields: Record<string, unknown> & { property_id: number; buyer_id?: number; realtor_id?: number; scheduled_at?: Date | string },
): Promise<InsertedBooking> {
  const realtorId = fields.realtor_id ?? Number((await knex('properties').where({ id: fields.property_id }).first('realtor_id')).realtor_id);
  const buyerId = fields.buyer_id ?? (await insertUser(knex, 'buyer')).id;
  const scheduledAt = new Date(fields.scheduled_at ?? nextSlot());
  const [row] = await knex('bookings')
    .insert({ ...fields, realtor_id: realtorId, buyer_id: buyerId, scheduled_at: scheduledAt })
    .returning(['id']);
  return { id: Number(row.id), propertyId: fields.property_id, realtorId, buyerId, scheduledAt };
}

/** A confirmed `bookings` row and its `tours` row (scheduled unless `status` says otherwise), as `insertBooking` picks them. */
export async function insertTour(
  knex: Knex,
  fields: { property_id: number; buyer_id?: number; scheduled_at?: Date | string; duration_minutes?: number; status?: string },
): Promise<{ tourId: number; booking: InsertedBooking }> {
  const { status, ...bookingFields } = fields;
  const booking = await insertBooking(knex, { ...bookingFields, status: 'confirmed' });
  const [row] = await knex('tours')
    .insert({
      property_id: booking.propertyId,
      realtor_id: booking.realtorId,
      buyer_id: booking.buyerId,
      booking_id: booking.id,
      scheduled_at: booking.scheduledAt,
      ...(fields.duration_minutes !== undefined && { duration_minutes: fields.duration_minutes }),
      ...(status !== undefined && { status }),
    })
    .returning(['id']);
  return { tourId: Number(row.id), booking };
}
