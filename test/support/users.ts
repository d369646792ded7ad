import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { createAdminAccount } from '../../api/users/service';
import type { TestApp } from './app';
import { httpOf, type Target } from './http';

export interface SignedIn {
  id: number;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  auth: { Authorization: string };
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}@example.com`;
}

export async function login(target: Target, email: string, password: string): Promise<SignedIn> {
  const res = await httpOf(target)().post('/api/v1/auth/login').send({ email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  const a = res.body.data.attributes;
  return {
    id: Number(res.body.data.relationships.user.data.id),
    email,
    password,
    accessToken: a.access_token,
    refreshToken: a.refresh_token,
    auth: { Authorization: `Bearer ${a.access_token}` },
  };
}

/** Signs a new buyer or realtor up over HTTP and signs them in (an alternating `Http` signs in on the other API). */
export async function signUp(target: Target, role: 'buyer' | 'realtor', name = `Test ${role}`): Promise<SignedIn> {
  const email = uniqueEmail(role);
  const password = 'correct-horse-9';
  const res = await httpOf(target)().post('/api/v1/auth/register').send({ full_name: name, email, password, role });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return login(target, email, password);
}

/** Creates an admin the way `npm run create-admin` does, and signs them in. */
export async function signUpAdmin(app: TestApp, knex: Knex): Promise<SignedIn> {
  const email = uniqueEmail('admin');
  const password = 'admin-pass-123';
  await createAdminAccount({ knex, identity: app.adapters.identity }, { email, password, fullName: 'Ada Admin' });
  return login(app, email, password);
}
