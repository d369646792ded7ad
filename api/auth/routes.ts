import type { Context } from 'koa';
import type { Session } from '../../adapters/identity/port';
import type { ObjectStorage } from '../../adapters/storage/port';
import type { UserRecord as User } from '../../db/repositories/users.repository';
import { resource, sendData } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { presentUser } from '../users/presenter';
import { userResource } from '../users/schemas';
import {
  loginBody,
  logoutBody,
  messageResource,
  refreshBody,
  registerBody,
  resetConfirmBody,
  resetRequestBody,
  sessionResource,
  updateMeBody,
} from './schemas';
import type { AuthService } from './service';

function sendSession(ctx: Context, session: Session, user: User, refreshToken: string): void {
  sendData(
    ctx,
    resource(
      'session',
      user.id,
      {
        access_token: session.accessToken,
        id_token: session.idToken,
        refresh_token: refreshToken,
        expires_in: session.expiresIn,
        token_type: 'Bearer',
      },
      { user: { data: { id: String(user.id), type: 'user' } } },
    ),
  );
  // Tokens must not be cached by browsers or proxies.
  ctx.set('Cache-Control', 'no-store');
}

export function authRoutes(auth: AuthService, storage: ObjectStorage): AnyRouteSpec[] {
  const tags = ['Auth'];
  const invalid = { 400: { description: 'Invalid body; each error names its field' } };
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Sign up as a buyer (default) or realtor',
      tags,
      body: registerBody,
      responses: { 201: { description: 'The new user', data: userResource }, ...invalid, 409: { description: 'Email already registered' } },
      async handler(ctx, input) {
        const user = await auth.register(input.body, input.requestId);
        sendData(ctx, await presentUser(user, storage), 201);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Sign in with email and password',
      tags,
      body: loginBody,
      responses: { 200: { description: 'Tokens', data: sessionResource }, ...invalid, 401: { description: 'Incorrect email or password' } },
      async handler(ctx, input) {
        const { session, user } = await auth.login(input.body.email, input.body.password, input.requestId);
        sendSession(ctx, session, user, session.refreshToken ?? '');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/refresh',
      summary: 'Exchange a refresh token for new access and id tokens',
      tags,
      body: refreshBody,
      responses: { 200: { description: 'Tokens', data: sessionResource }, ...invalid, 401: { description: 'Invalid or revoked refresh token' } },
      async handler(ctx, input) {
        const { session, user } = await auth.refresh(input.body.refresh_token, input.body.email, input.requestId);
        sendSession(ctx, session, user, session.refreshToken ?? input.body.refresh_token);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'Revoke a refresh token (and the tokens issued from it)',
      tags,
      body: logoutBody,
      responses: { 200: { description: 'Signed out', data: messageResource('session') }, ...invalid },
      async handler(ctx, input) {
        const actor = actorOf(input);
        await auth.logout(actor, input.body.refresh_token);
        sendData(ctx, resource('session', actor.user.id, { message: 'Signed out' }));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/password-reset/request',
      summary: 'Email a password-reset code (answered the same whether or not the email is known)',
      tags,
      body: resetRequestBody,
      responses: { 202: { description: 'Accepted', data: messageResource('password_reset') }, ...invalid },
      async handler(ctx, input) {
        await auth.requestPasswordReset(input.body.email, input.requestId);
        sendData(ctx, resource('password_reset', 'request', { message: 'If the account exists, a reset code has been sent' }), 202);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/auth/password-reset/confirm',
      summary: 'Set a new password with the emailed code',
      tags,
      body: resetConfirmBody,
      responses: { 200: { description: 'Password changed', data: messageResource('password_reset') }, ...invalid },
      async handler(ctx, input) {
        await auth.confirmPasswordReset(input.body.email, input.body.code, input.body.new_password, input.requestId);
        sendData(ctx, resource('password_reset', 'confirm', { message: 'Password changed; sign in with the new password' }));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/auth/me',
      summary: 'The signed-in user',
      tags,
      responses: { 200: { description: 'The user', data: userResource } },
      async handler(ctx, input) {
        sendData(ctx, await presentUser(auth.me(actorOf(input)), storage));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/auth/me',
      summary: 'Change your own profile (full_name); role, email and ids cannot be changed here',
      tags,
      body: updateMeBody,
      responses: { 200: { description: 'The changed user', data: userResource }, ...invalid },
      async handler(ctx, input) {
        sendData(ctx, await presentUser(await auth.updateMe(actorOf(input), input.body), storage));
      },
    }),
  ];
}
