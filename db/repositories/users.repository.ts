import type { Knex } from 'knex';

/** Who a user is to the system: a plain `users` row. */
export type Role = 'buyer' | 'realtor' | 'admin';

export interface UserRecord {
  id: number;
  full_name: string;
  email: string;
  role: Role;
  cognito_sub: string;
  disabled_at: Date | null;
  deleted_at: Date | null;
  avatar_key: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewUser {
  cognito_sub: string;
  email: string;
  full_name: string;
  role: Role;
}

const COLUMNS = ['id', 'full_name', 'email', 'role', 'cognito_sub', 'disabled_at', 'deleted_at', 'avatar_key', 'created_at', 'updated_at'];

/** bigint ids come back from pg as strings; records carry numbers. */
function toRecord(row: Record<string, unknown> | undefined): UserRecord | undefined {
  if (!row) return undefined;
  return { ...(row as unknown as UserRecord), id: Number(row.id) };
}

/** The `users` table. Takes the knex instance or the caller's transaction. */
export function usersRepository(db: Knex | Knex.Transaction) {
  const one = async (where: Record<string, unknown>): Promise<UserRecord | undefined> =>
    toRecord(await db('users').select(COLUMNS).where(where).first());

  return {
    findById: (id: number) => one({ id }),
    findBySub: (sub: string) => one({ cognito_sub: sub }),
    /** Emails are stored lower-cased. */
    findByEmail: (email: string) => one({ email: email.trim().toLowerCase() }),

    /** A realtor that can still own listings (not deleted). */
    async findActiveRealtor(id: number): Promise<UserRecord | undefined> {
      return toRecord(await db('users').select(COLUMNS).where({ id, role: 'realtor' }).whereNull('deleted_at').first());
    },

    /** Inserts unless the sub exists; undefined when another request inserted it first. */
    async insertIfAbsent(user: NewUser): Promise<UserRecord | undefined> {
      const rows = await db('users').insert(user).onConflict('cognito_sub').ignore().returning(COLUMNS);
      return toRecord(rows[0] as Record<string, unknown> | undefined);
    },
  };
}

export type UsersRepository = ReturnType<typeof usersRepository>;
