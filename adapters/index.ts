import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { LocalTourAnalyst } from './ai/local';
import { LocalWhisperTranscriber } from './ai/local-whisper';
import { OpenAiTourAnalyst, OpenAiTranscriber } from './ai/openai';
import type { TourAnalyst, TranscriptionProvider } from './ai/port';
import { Notifier } from './email/notifier';
import { ChimeMeetingProvider } from './meetings/chime';
import { chimeStorageHooks } from './meetings/chime-storage';
import { LocalMeetingProvider } from './meetings/local';
import type { MeetingProvider } from './meetings/port';
import { LocalEmailSender } from './email/local';
import { SendGridEmailSender } from './email/sendgrid';
import type { EmailSender } from './email/port';
import { CognitoIdentityProvider } from './identity/cognito';
import { LocalIdentityProvider } from './identity/local';
import type { IdentityProvider } from './identity/port';
import { LocalObjectStorage, loadOrCreateSecret } from './storage/local';
import { S3ObjectStorage } from './storage/s3';
import type { ObjectStorage } from './storage/port';

/** The implementation of each port that the configuration chooses. */
export interface Adapters {
  identity: IdentityProvider;
  /** Set when identity is the local issuer: its JWKS is published by the API. */
  localIdentity: LocalIdentityProvider | undefined;
  storage: ObjectStorage;
  /** Secret of the local storage's signed URLs (served by the API at /files). */
  storageSecret: string;
  email: EmailSender;
  notifier: Notifier;
  meetings: MeetingProvider;
  transcriber: TranscriptionProvider;
  analyst: TourAnalyst;
}

/** What the worker's activities use: no identity provider. */
export type WorkerAdapters = Pick<Adapters, 'storage' | 'storageSecret' | 'email' | 'notifier' | 'meetings' | 'transcriber' | 'analyst'>;

export function buildWorkerAdapters(config: Config, knex: Knex, logger: Logger): WorkerAdapters {
  const email: EmailSender =
    config.email.provider === 'sendgrid'
      ? new SendGridEmailSender({ apiKey: config.email.sendgrid.apiKey, baseUrl: config.email.sendgrid.baseUrl })
      : new LocalEmailSender({ outboxDir: config.email.outboxDir, logger: logger.child({ component: 'outbox' }) });
  const notifier = new Notifier({ knex, sender: email, from: config.email.from, logger });

  const storageSecret = config.storage.signingSecret ?? loadOrCreateSecret(path.join(config.paths.data, 'secrets', 'storage-signing.key'));
  const storage: ObjectStorage =
    config.storage.provider === 's3'
      ? new S3ObjectStorage({ ...config.storage.s3, defaultTtlSeconds: config.storage.urlTtlSeconds })
      : new LocalObjectStorage({
          dir: config.storage.localDir,
          baseUrl: config.publicBaseUrl,
          secret: storageSecret,
          defaultTtlSeconds: config.storage.urlTtlSeconds,
        });
  const meetings: MeetingProvider =
    config.meetings.provider === 'chime'
      ? new ChimeMeetingProvider({
          region: config.meetings.region,
          mediaRegion: config.meetings.mediaRegion,
          bucketArn: config.meetings.recordingsBucketArn,
          awsAccountId: config.meetings.accountId,
          ...chimeStorageHooks(storage),
        })
      : new LocalMeetingProvider({ baseUrl: config.publicBaseUrl });
  const ai = config.ai;
  const transcriber: TranscriptionProvider =
    ai.transcription === 'openai'
      ? new OpenAiTranscriber({ apiKey: ai.apiKey, baseUrl: ai.baseUrl })
      : new LocalWhisperTranscriber({ ...ai.localStt, logger: logger.child({ component: 'stt' }) });
  const analyst: TourAnalyst =
    ai.analysis === 'openai' ? new OpenAiTourAnalyst({ apiKey: ai.apiKey, baseUrl: ai.baseUrl, chatModel: ai.chatModel }) : new LocalTourAnalyst();
  return { storage, storageSecret, email, notifier, meetings, transcriber, analyst };
}

export function buildAdapters(config: Config, knex: Knex, logger: Logger): Adapters {
  const worker = buildWorkerAdapters(config, knex, logger);
  const { notifier } = worker;

  let identity: IdentityProvider;
  let localIdentity: LocalIdentityProvider | undefined;
  if (config.identity.provider === 'cognito') {
    identity = new CognitoIdentityProvider(config.identity.cognito);
  } else {
    localIdentity = new LocalIdentityProvider({
      knex,
      issuer: config.identity.local.issuer,
      clientId: config.identity.local.clientId,
      keyDir: config.identity.local.keyDir,
      accessTokenTtlSeconds: config.identity.accessTokenTtlSeconds,
      refreshTokenTtlDays: config.identity.refreshTokenTtlDays,
      passwordResetTtlMinutes: config.identity.passwordResetTtlMinutes,
      sendResetCode: async (r) => {
        await notifier.send({
          idempotencyKey: `password-reset:${r.resetId}`,
          template: 'password-reset',
          to: r.email,
          vars: { full_name: r.fullName, code: r.code, expires_minutes: r.expiresMinutes },
        });
      },
    });
    identity = localIdentity;
  }
  return { ...worker, identity, localIdentity };
}
