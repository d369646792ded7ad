import type { Knex } from 'knex';
import { usersRepository, type UserRecord as User } from '../../db/repositories/users.repository';
import { recordAudit } from '../../db/audit';
import { isRole, roleFromGroups, ROLES, type IdTokenClaims, type IdentityProvider, type Role } from '../../adapters/identity/port';

/**
 * Role reconciliation at sign-in: the rule, in one place.
 *
 * The token's role is the highest role group in `cognito:groups`; only when the user is in
 * no role group does `custom:role` count (an app client may let users write their own
 * attributes, so it is never trusted above the groups). Then, against `users.role`:
 *
 * 1. The lower of the two wins. A role taken away in Cognito (console, incident response)
 *    takes effect at the next sign-in: `users.role` is lowered. A role granted only in
 *    Cognito does not: rights are granted through the admin API, which is audited, and
 *    Cognito is put back to `users.role`.
 * 2. Cognito is then made to match the result exactly: the role's group and `custom:role`
 *    (a user in no role group, or whose `custom:role` differs, is repaired).
 *
 * Every change is in the audit log as `role_synced`. Admin role changes go the other way
 * (api/users/service.ts → `adminSetRole`), so the two stay equal in normal operation.
 */

const RANK: Record<Role, number> = { buyer: 0, realtor: 1, admin: 2 };

export function roleFromToken(claims: Pick<IdTokenClaims, 'groups' | 'customRole'>): Role | undefined {
  if (claims.groups.some((g) => (ROLES as readonly string[]).includes(g))) return roleFromGroups(claims.groups);
  return isRole(claims.customRole) ? claims.customRole : undefined;
}

export interface RoleDecision {
  /** What users.role becomes (unchanged unless Cognito took rights away). */
  role: Role;
  /** Whether Cognito's groups / custom:role must be set to `role`. */
  updateIdentity: boolean;
  /** The role the token carried, if any. */
  tokenRole: Role | undefined;
}

export function reconcileRole(usersRole: Role, claims: Pick<IdTokenClaims, 'groups' | 'customRole'>): RoleDecision {
  const tokenRole = roleFromToken(claims);
  const role = tokenRole !== undefined && RANK[tokenRole] < RANK[usersRole] ? tokenRole : usersRole;
  return { role, tokenRole, updateIdentity: tokenRole !== role || !claims.groups.includes(role) || claims.customRole !== role };
}

/** Applies the rule for one sign-in; returns the user as it now is. */
export async function syncRoleAtSignIn(
  deps: { knex: Knex; identity: IdentityProvider },
  user: User,
  idToken: string,
  requestId: string,
): Promise<User> {
  const claims = await deps.identity.verifyIdToken(idToken);
  const decision = reconcileRole(user.role, claims);
  if (decision.role === user.role && !decision.updateIdentity) return user;
  if (decision.updateIdentity) await deps.identity.adminSetRole(user.cognito_sub, decision.role, decision.tokenRole ?? decision.role);
  return deps.knex.transaction(async (trx) => {
    const synced = decision.role === user.role ? user : await usersRepository(trx).update(user.id, { role: decision.role });
    if (!synced) throw new Error(`users row ${user.id} vanished during sign-in`);
    await recordAudit(trx, {
      actorId: null,
      action: 'role_synced',
      resourceType: 'user',
      resourceId: user.id,
      details: {
        users_role: { from: user.role, to: decision.role },
        token: { groups: claims.groups, custom_role: claims.customRole ?? null },
        identity_updated: decision.updateIdentity,
      },
      requestId,
    });
    return synced;
  });
}
