import { Booking, Call, Property, Tour, TourNote, User } from '../../db/models';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('objection models', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('when a tour graph is stored, then its relations load in both directions', async () => {
    const realtor = await User.query(db.knex).insertAndFetch({ full_name: 'Rita', email: 'rita@example.com', cognito_sub: 'r1', role: 'realtor' });
    const buyer = await User.query(db.knex).insertAndFetch({ full_name: 'Ben', email: 'ben@example.com', cognito_sub: 'b1', role: 'buyer' });
    const property = await Property.query(db.knex).insertAndFetch({ realtor_id: realtor.id, address: '9 Elm St', price: '450000.00' });
    const booking = await Booking.query(db.knex).insertAndFetch({ buyer_id: buyer.id, realtor_id: realtor.id, property_id: property.id, scheduled_at: new Date('2026-12-01T15:00:00Z') });
    const tour = await Tour.query(db.knex).insertAndFetch({
      property_id: property.id, realtor_id: realtor.id, buyer_id: buyer.id, booking_id: booking.id, scheduled_at: booking.scheduled_at,
    });
    await Call.query(db.knex).insert({ tour_id: tour.id, chime_meeting_id: `meeting-${tour.id}` });
    await TourNote.query(db.knex).insert({ tour_id: tour.id, user_id: buyer.id, content: 'Kitchen is big', timestamp_ms: 65_000 });

    const loaded = await Tour.query(db.knex).findById(tour.id).withGraphFetched('[property.realtor, buyer, booking, calls, notes.author]');
    expect(loaded?.property?.realtor?.email).toBe('rita@example.com');
    expect(loaded?.buyer?.full_name).toBe('Ben');
    expect(loaded?.booking?.id).toBe(booking.id);
    expect(loaded?.calls?.[0]?.status).toBe('created');
    expect(loaded?.notes?.[0]?.author?.id).toBe(buyer.id);
    expect(loaded?.scheduled_at.toISOString()).toBe('2026-12-01T15:00:00.000Z');

    const withTour = await Booking.query(db.knex).findById(booking.id).withGraphFetched('tour');
    expect(withTour?.tour?.id).toBe(tour.id);
  });

  it('when a second tour is created for the same booking, then the database refuses it', async () => {
    const [tour] = await Tour.query(db.knex).limit(1);
    await expect(
      Tour.query(db.knex).insert({
        property_id: tour!.property_id, realtor_id: tour!.realtor_id, buyer_id: tour!.buyer_id, booking_id: tour!.booking_id, scheduled_at: new Date(),
      }),
    ).rejects.toMatchObject({ nativeError: { code: '23505' } });
  });
});
