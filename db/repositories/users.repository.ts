import type { Knex } from 'knex';
import { pageOf, type Page, type PageRequest } from './page';

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

/** What an admin may change on an account, and what deleting it sets. */
export type UserPatch = Partial<Pick<UserRecord, 'full_name' | 'role' | 'disabled_at' | 'deleted_at' | 'avatar_key'>>;

/** Which accounts a query may see: deleted ones never; with `userId`, only that one. */
export interface UserScope {
  userId?: number;
}

export interface UserFilter {
  /** A substring of the name or the email, any case; `%`, `_` and `\` match themselves. */
  q?: string;
  role?: Role;
  status?: 'active' | 'disabled';
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

  const visible = (scope: UserScope) => {
    const q = db('users').whereNull('deleted_at');
    if (scope.userId !== undefined) q.where('id', scope.userId);
    return q;
  };

  return {
    findById: (id: number) => one({ id }),
    findBySub: (sub: string) => one({ cognito_sub: sub }),
    /** Emails are stored lower-cased. */
    findByEmail: (email: string) => one({ email: email.trim().toLowerCase() }),

    /** A realtor that can still own listings (not deleted). */
    async findActiveRealtor(id: number): Promise<UserRecord | undefined> {
      return toRecord(await db('users').select(COLUMNS).where({ id, role: 'realtor' }).whereNull('deleted_at').first());
    },

    /** One account as `scope` may see it; undefined for a deleted or out-of-scope one (a 404, not a 403). */
    async findInScope(scope: UserScope, id: number): Promise<UserRecord | undefined> {
      return toRecord(await visible(scope).select(COLUMNS).where({ id }).first());
    },

    /** A page of the accounts `scope` may see, oldest first, with the count of all matches. */
    async list(scope: UserScope, f: UserFilter, page: PageRequest): Promise<Page<UserRecord>> {
      const q = visible(scope);
      if (f.q) {
        const like = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q.where((w) => w.whereILike('full_name', like).orWhereILike('email', like));
      }
      if (f.role) q.where({ role: f.role });
      if (f.status === 'active') q.whereNull('disabled_at');
      if (f.status === 'disabled') q.whereNotNull('disabled_at');
      const { items, total } = await pageOf<Record<string, unknown>>(q, (rows) => rows.select(COLUMNS).orderBy('id', 'asc'), page);
      return { items: items.map((r) => toRecord(r)!), total };
    },

    async insert(user: NewUser): Promise<UserRecord> {
      const [row] = await db('users').insert(user).returning(COLUMNS);
      return toRecord(row as Record<string, unknown>)!;
    },

    /** The row as it is after the change (`updated_at` set by the trigger); undefined when there is no such user. */
    async update(id: number, patch: UserPatch): Promise<UserRecord | undefined> {
      const rows = await db('users').where({ id }).update(patch).returning(COLUMNS);
      return toRecord(rows[0] as Record<string, unknown> | undefined);
    },

    /** Inserts unless the sub exists; undefined when another request inserted it first. */
    async insertIfAbsent(user: NewUser): Promise<UserRecord | undefined> {
      const rows = await db('users').insert(user).onConflict('cognito_sub').ignore().returning(COLUMNS);
      return toRecord(rows[0] as Record<string, unknown> | undefined);
    },
  };
}

export type UsersRepository = ReturnType<typeof usersRepository>;
