import { z } from 'zod';
import type { ObjectStorage } from '../../adapters/storage/port';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentUser } from './presenter';
import { adminUserListQuery, adminUserUpdateBody, userResource } from './schemas';
import type { UserService } from './service';

export function userRoutes(users: UserService, storage: ObjectStorage, avatarMaxBytes: number): AnyRouteSpec[] {
  const tags = ['Admin: users'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/admin/users',
      summary: 'List users (search by name or email, filter by role and status)',
      tags,
      query: adminUserListQuery,
      responses: { 200: { description: 'A page of users', data: z.array(userResource), paginated: true } },
      async handler(ctx, input) {
        const { items, meta } = await users.list(actorOf(input), input.query);
        sendPage(ctx, await Promise.all(items.map((u) => presentUser(u, storage))), meta);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/admin/users/:id',
      summary: 'Get a user',
      tags,
      params: idParams,
      responses: { 200: { description: 'The user', data: userResource }, 404: { description: 'No such user' } },
      async handler(ctx, input) {
        sendData(ctx, await presentUser(await users.get(actorOf(input), input.params.id), storage));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/admin/users/:id',
      summary: 'Change a user: name, role, or disable/enable the account',
      tags,
      params: idParams,
      body: adminUserUpdateBody,
      responses: {
        200: { description: 'The changed user', data: userResource },
        404: { description: 'No such user' },
        409: { description: 'The change would lock the admin out' },
      },
      async handler(ctx, input) {
        sendData(ctx, await presentUser(await users.update(actorOf(input), input.params.id, input.body), storage));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/admin/users/:id',
      summary: 'Delete a user account (the row stays for history; the account can no longer sign in)',
      tags,
      params: idParams,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such user' }, 409: { description: 'Cannot delete yourself' } },
      async handler(ctx, input) {
        await users.remove(actorOf(input), input.params.id);
        ctx.status = 204;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/admin/users/:id/avatar',
      summary: 'Upload a user avatar (JPEG, PNG, WebP, HEIC or AVIF; stored as a 256x256 WebP)',
      tags,
      params: idParams,
      multipart: { field: 'avatar', maxBytes: avatarMaxBytes, description: 'the image file' },
      responses: {
        200: { description: 'The user with its new avatar_url', data: userResource },
        413: { description: 'File too large' },
        415: { description: 'Not an accepted image type' },
        422: { description: 'Corrupt image or too many pixels' },
      },
      async handler(ctx, input) {
        sendData(ctx, await presentUser(await users.setAvatar(actorOf(input), input.params.id, input.file), storage));
      },
    }),
  ];
}
