import type { UserRecord } from '../../db/repositories/users.repository';
import type { ObjectStorage } from '../../adapters/storage/port';
import { resource } from '../envelope';

export async function presentUser(user: UserRecord, storage: ObjectStorage) {
  return resource('user', user.id, {
    full_name: user.full_name,
    email: user.email,
    role: user.role,
    avatar_url: user.avatar_key ? await storage.signedUrl(user.avatar_key) : null,
    disabled: Boolean(user.disabled_at),
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
  });
}
