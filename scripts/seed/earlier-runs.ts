// What earlier runs left behind: their numbers (never reused) and, on --reset, their rows.
import type { Knex } from 'knex';
import type { IdentityProvider } from '../../adapters/identity/port';

const SEED_EMAIL = '^seed([0-9]+)-(realtor|buyer)-';
const SEED_MLS = '^SEED([0-9]+)-';

export async function nextRun(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: Array<{ max: number | null }> }>(
    `SELECT max(n) AS max FROM (
       SELECT (regexp_match(email, ?))[1]::int AS n FROM users
       UNION ALL SELECT (regexp_match(email, ?))[1]::int FROM local_identity_users
       UNION ALL SELECT (regexp_match(mls_id, ?))[1]::int FROM properties
     ) runs`,
    [SEED_EMAIL, SEED_EMAIL, SEED_MLS],
  );
  return (rows[0]?.max ?? 0) + 1;
}

/**
 * Removes every listing (with its images, bookings and tours) and the seeded accounts no
 * audit entry refers to. audit_logs is append-only and stays, and so do the accounts it names.
 */
export async function resetData(knex: Knex, identity: IdentityProvider): Promise<{ properties: number; users: number }> {
  return knex.transaction(async (trx) => {
    const properties = Number((await trx('properties').count<{ n: string }[]>({ n: '*' }))[0]!.n);
    // CASCADE: also whatever else hangs off listings, bookings or tours (never audit_logs, which refers to users only).
    await trx.raw('TRUNCATE property_images, highlights, transcripts, recordings, tour_notes, calls, tours, bookings, properties CASCADE');
    const removed = await trx('users')
      .whereRaw('email ~ ?', [SEED_EMAIL])
      .whereNotExists(trx('audit_logs').whereRaw('audit_logs.user_id = users.id'))
      .delete()
      .returning<Array<{ cognito_sub: string }>>('cognito_sub');
    if (identity.name === 'local') {
      await trx('local_identity_users')
        .whereRaw('email ~ ?', [SEED_EMAIL])
        .whereNotExists(trx('users').whereRaw('users.cognito_sub = local_identity_users.sub::text'))
        .delete();
    }
    return { properties, users: removed.length };
  });
}
