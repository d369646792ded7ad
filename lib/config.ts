import path from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads `process.env`. Everything else receives a `Config`.
 * Validation reports every bad key at once so an operator fixes them in one go.
 */

// Compiled code runs from dist/ (npm run build); the project is still dist's parent.
const CODE_ROOT = path.resolve(__dirname, '..');
export const PROJECT_ROOT = path.basename(CODE_ROOT) === 'dist' ? path.dirname(CODE_ROOT) : CODE_ROOT;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const postgresUrl = z
  .string()
  .trim()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
  .refine((v) => URL.canParse(v), 'must be a valid URL');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(3000),
  WORKER_HEALTH_PORT: port.default(3001),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  TEMPORAL_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  DATA_DIR: z.string().min(1).default('.data'),
  TOOLS_DIR: z.string().min(1).default('.tools'),

  DATABASE_URL: z.union([postgresUrl, z.literal('')]).optional(),
  DATABASE_POOL_MIN: z.coerce.number().int().min(0).default(0),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(1000),
  EMBEDDED_PG_PORT: port.default(54329),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('realtyforyou'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_TEST_SERVER_PATH: optionalString,
  TEMPORAL_RPC_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(30_000),
  TEMPORAL_WORKER_POLL_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(3600).default(90),

  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(15_000),

  PUBLIC_BASE_URL: z.url().optional(),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  CORS_ORIGINS: z.string().default('http://localhost:3000,http://localhost:5173'),
  JSON_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  AUTH_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(30),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  AUTH_ACCOUNT_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(10),
  AUTH_ACCOUNT_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  API_RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(1200),
  API_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),

  IDENTITY_PROVIDER: z.enum(['local', 'cognito']).default('local'),
  LOCAL_IDENTITY_ISSUER: z.url().optional(),
  LOCAL_IDENTITY_CLIENT_ID: z.string().min(1).default('realtyforyou-local'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  COGNITO_REGION: optionalString,
  COGNITO_USER_POOL_ID: optionalString,
  COGNITO_CLIENT_ID: optionalString,
  COGNITO_CLIENT_SECRET: optionalString,
  COGNITO_ENDPOINT: optionalString,

  EMAIL_PROVIDER: z.enum(['local', 'sendgrid']).default('local'),
  EMAIL_FROM: z.string().min(3).default('RealtyForYou <no-reply@realtyforyou.local>'),
  SENDGRID_API_KEY: optionalString,
  SENDGRID_BASE_URL: z.url().optional(),

  BOOKING_MIN_NOTICE_MINUTES: z.coerce.number().int().min(0).max(60 * 24 * 30).default(60),
  BOOKING_MAX_AHEAD_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  BOOKING_EXPIRY_LEAD_MINUTES: z.coerce.number().int().min(0).max(60 * 24 * 7).default(0),
  TOUR_EARLY_START_MINUTES: z.coerce.number().int().min(0).max(24 * 60).default(15),
  TOUR_MAX_CALL_MINUTES: z.coerce.number().int().min(5).max(24 * 60).default(120),
  TOUR_EMPTY_CALL_END_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(10),
  TOUR_NOTES_GRACE_MINUTES: z.coerce.number().int().min(0).max(7 * 24 * 60).default(30),
  TOUR_NO_SHOW_GRACE_MINUTES: z.coerce.number().int().min(0).max(7 * 24 * 60).default(120),
  RECORDING_MAX_BYTES: z.coerce.number().int().min(1024).default(500 * 1024 * 1024),
  MEETINGS_PROVIDER: z.enum(['local', 'chime']).default('local'),
  CHIME_REGION: z.string().min(1).default('us-east-1'),
  CHIME_MEDIA_REGION: z.string().min(1).default('us-east-1'),
  CHIME_RECORDINGS_BUCKET_ARN: optionalString,
  CHIME_ACCOUNT_ID: optionalString,
  AI_PROVIDER: z.enum(['local', 'openai']).default('local'),
  TRANSCRIPTION_PROVIDER: z.enum(['local', 'openai']).optional(),
  ANALYSIS_PROVIDER: z.enum(['local', 'openai']).optional(),
  LOCAL_STT_MODEL_DIR: optionalString,
  LOCAL_STT_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  RECORD_CALLS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_CHAT_MODEL: z.string().min(1).default('gpt-4o-mini'),
  BOOKING_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),

  STORAGE_PROVIDER: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: optionalString,
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ENDPOINT: optionalString,
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  S3_SSE: z.enum(['none', 'AES256', 'aws:kms']).default('AES256'),
  S3_KMS_KEY_ID: optionalString,
  IMAGE_MAX_BYTES: z.coerce.number().int().min(1024).default(15 * 1024 * 1024),
  IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).default(40_000_000),
  IMAGE_MAX_FILES: z.coerce.number().int().min(1).max(50).default(10),
  STORAGE_SIGNING_SECRET: optionalString,
  STORAGE_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(7 * 86_400).default(900),
  AVATAR_MAX_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024),
}).superRefine((e, ctx) => {
  if (e.IDENTITY_PROVIDER === 'cognito') {
    for (const key of ['COGNITO_REGION', 'COGNITO_USER_POOL_ID', 'COGNITO_CLIENT_ID'] as const) {
      if (!e[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when IDENTITY_PROVIDER=cognito' });
    }
  }
  if (e.EMAIL_PROVIDER === 'sendgrid' && !e.SENDGRID_API_KEY) {
    ctx.addIssue({ code: 'custom', path: ['SENDGRID_API_KEY'], message: 'required when EMAIL_PROVIDER=sendgrid' });
  }
  const transcription = e.TRANSCRIPTION_PROVIDER ?? e.AI_PROVIDER;
  const analysis = e.ANALYSIS_PROVIDER ?? e.AI_PROVIDER;
  if ((transcription === 'openai' || analysis === 'openai') && !e.OPENAI_API_KEY) {
    const which = transcription === 'openai' ? 'TRANSCRIPTION_PROVIDER' : 'ANALYSIS_PROVIDER';
    ctx.addIssue({ code: 'custom', path: ['OPENAI_API_KEY'], message: `required when ${which} (or AI_PROVIDER) is openai` });
  }
  if (e.MEETINGS_PROVIDER === 'chime' && !e.CHIME_RECORDINGS_BUCKET_ARN) {
    ctx.addIssue({ code: 'custom', path: ['CHIME_RECORDINGS_BUCKET_ARN'], message: 'required when MEETINGS_PROVIDER=chime' });
  }
  // Chime writes recordings into an S3 bucket the worker must read back; local files cannot be that bucket.
  // (Tests stand in for Chime and write the captures into local storage themselves.)
  if (e.MEETINGS_PROVIDER === 'chime' && e.STORAGE_PROVIDER !== 's3' && e.NODE_ENV !== 'test') {
    ctx.addIssue({ code: 'custom', path: ['STORAGE_PROVIDER'], message: 'must be s3 (the bucket of CHIME_RECORDINGS_BUCKET_ARN) when MEETINGS_PROVIDER=chime' });
  }
  if (e.STORAGE_PROVIDER === 's3' && !e.S3_BUCKET) {
    ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when STORAGE_PROVIDER=s3' });
  }
  if (e.S3_SSE === 'aws:kms' && !e.S3_KMS_KEY_ID) {
    ctx.addIssue({ code: 'custom', path: ['S3_KMS_KEY_ID'], message: 'required when S3_SSE=aws:kms' });
  }
  for (const origin of e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean)) {
    if (!URL.canParse(origin)) ctx.addIssue({ code: 'custom', path: ['CORS_ORIGINS'], message: `"${origin}" is not an origin URL` });
  }
});

export type Env = z.infer<typeof envSchema>;

export interface RateLimit {
  max: number;
  windowSeconds: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  http: { host: string; port: number; workerHealthPort: number };
  metrics: {
    /** GET /metrics of the API (and of everything, under `npm start`); 0 turns it off. */
    port: number;
    /** The Temporal SDK's own Prometheus exporter, bound to localhost and merged into the worker's /metrics; 0 turns it off. */
    sdkPort: number;
  };
  paths: { root: string; data: string; tools: string };
  database: {
    /** Absent means: run the embedded PostgreSQL under the data folder. */
    url: string | undefined;
    /** acquireTimeoutMs: how long a query waits for a connection before the request is answered 503. */
    pool: { min: number; max: number; acquireTimeoutMs: number };
    embedded: { port: number; dir: string };
  };
  temporal: {
    /** Absent means: run the Temporal dev server under the data folder. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    dev: { port: number; uiPort: number; dbFile: string };
    cliPath: string;
    testServerPath: string;
    /** Deadline of every Temporal call the API makes for one request (retries included). */
    rpcTimeoutMs: number;
    /** A task queue whose last worker poll is older than this has no worker: commands answer 503. */
    workerPollMaxAgeMs: number;
  };
  shutdownTimeoutMs: number;
  /** How clients reach the API; signed file URLs and the local token issuer use it. */
  publicBaseUrl: string;
  api: {
    corsOrigins: string[];
    /** Reverse proxies in front of the API whose X-Forwarded-For entries are trusted. */
    trustProxyHops: number;
    jsonBodyLimitBytes: number;
    /** Counted in PostgreSQL, so every API instance shares them. */
    rateLimits: {
      /** Per client address and route under /api/v1/auth/. */
      authAddress: RateLimit;
      /** Per account (the email, or the refresh token) and auth route; a successful sign-in is not counted. */
      authAccount: RateLimit;
      /** Per signed-in user over the whole API; max 0 turns it off. */
      apiUser: RateLimit;
    };
  };
  identity: {
    provider: 'local' | 'cognito';
    accessTokenTtlSeconds: number;
    refreshTokenTtlDays: number;
    passwordResetTtlMinutes: number;
    local: { issuer: string; clientId: string; keyDir: string };
    cognito: { region: string; userPoolId: string; clientId: string; clientSecret: string | undefined; endpoint: string | undefined };
  };
  email: { provider: 'local' | 'sendgrid'; from: string; outboxDir: string; sendgrid: { apiKey: string; baseUrl: string | undefined } };
  tours: {
    earlyStartMinutes: number;
    maxCallMinutes: number;
    emptyCallEndMinutes: number;
    notesGraceMinutes: number;
    noShowGraceMinutes: number;
    recordingMaxBytes: number;
    /** Every call is recorded from its start (participants are told); the realtor can stop and restart. */
    recordCalls: boolean;
  };
  meetings: { provider: 'local' | 'chime'; region: string; mediaRegion: string; recordingsBucketArn: string; accountId: string | undefined };
  ai: {
    /** Who turns recordings into text: faster-whisper on this machine, or OpenAI Whisper. */
    transcription: 'local' | 'openai';
    /** Who writes highlights and the summary: the local extractive analyst, or an OpenAI chat model. */
    analysis: 'local' | 'openai';
    apiKey: string;
    baseUrl: string | undefined;
    chatModel: string;
    localStt: {
      /** The virtualenv with faster-whisper (installed by `npm run stt:toolchain`). */
      venv: string;
      /** A faster-whisper model folder of the operator's choosing; absent: the pinned, hash-checked tiny.en. */
      modelDir: string | undefined;
      /** CPU threads for CTranslate2 (0: its default). */
      threads: number;
    };
  };
  bookings: {
    minNoticeMinutes: number;
    /** Latest a tour can be booked (or rescheduled to), in days from now. */
    maxAheadDays: number;
    /** A pending request expires this long before its time (0: at its time). */
    expiryLeadMinutes: number;
    /** How often the worker starts workflows for bookings whose start failed. */
    sweepIntervalSeconds: number;
  };
  storage: {
    provider: 'local' | 's3';
    s3: {
      bucket: string;
      region: string;
      endpoint: string | undefined;
      forcePathStyle: boolean;
      sse: 'none' | 'AES256' | 'aws:kms';
      kmsKeyId: string | undefined;
    };
    localDir: string;
    /** Absent: a random secret is kept under the data folder (single-instance local use). */
    signingSecret: string | undefined;
    urlTtlSeconds: number;
    avatarMaxBytes: number;
  };
  images: { maxBytes: number; maxPixels: number; maxFiles: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function resolveFromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(PROJECT_ROOT, p);
}

export function loadConfig(source: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      return `${key}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const data = resolveFromRoot(e.DATA_DIR);
  const tools = resolveFromRoot(e.TOOLS_DIR);
  const toolBin = path.join(tools, 'temporal', 'bin');
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, workerHealthPort: e.WORKER_HEALTH_PORT },
    metrics: { port: e.METRICS_PORT, sdkPort: e.TEMPORAL_SDK_METRICS_PORT },
    paths: { root: PROJECT_ROOT, data, tools },
    database: {
      url: e.DATABASE_URL || undefined,
      pool: { min: e.DATABASE_POOL_MIN, max: e.DATABASE_POOL_MAX, acquireTimeoutMs: e.DATABASE_ACQUIRE_TIMEOUT_MS },
      embedded: { port: e.EMBEDDED_PG_PORT, dir: path.join(data, 'postgres') },
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      dev: {
        port: e.TEMPORAL_DEV_PORT,
        uiPort: e.TEMPORAL_UI_PORT,
        dbFile: path.join(data, 'temporal', 'temporal.db'),
      },
      cliPath: e.TEMPORAL_CLI_PATH ? resolveFromRoot(e.TEMPORAL_CLI_PATH) : path.join(toolBin, 'temporal'),
      testServerPath: e.TEMPORAL_TEST_SERVER_PATH
        ? resolveFromRoot(e.TEMPORAL_TEST_SERVER_PATH)
        : path.join(toolBin, 'temporal-test-server'),
      rpcTimeoutMs: e.TEMPORAL_RPC_TIMEOUT_MS,
      workerPollMaxAgeMs: e.TEMPORAL_WORKER_POLL_MAX_AGE_SECONDS * 1000,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    publicBaseUrl,
    api: {
      corsOrigins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
      trustProxyHops: e.TRUST_PROXY_HOPS,
      jsonBodyLimitBytes: e.JSON_BODY_LIMIT_BYTES,
      rateLimits: {
        authAddress: { max: e.AUTH_RATE_LIMIT_MAX, windowSeconds: e.AUTH_RATE_LIMIT_WINDOW_SECONDS },
        authAccount: { max: e.AUTH_ACCOUNT_RATE_LIMIT_MAX, windowSeconds: e.AUTH_ACCOUNT_RATE_LIMIT_WINDOW_SECONDS },
        apiUser: { max: e.API_RATE_LIMIT_MAX, windowSeconds: e.API_RATE_LIMIT_WINDOW_SECONDS },
      },
    },
    identity: {
      provider: e.IDENTITY_PROVIDER,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
      passwordResetTtlMinutes: e.PASSWORD_RESET_TTL_MINUTES,
      local: {
        issuer: (e.LOCAL_IDENTITY_ISSUER ?? publicBaseUrl).replace(/\/$/, ''),
        clientId: e.LOCAL_IDENTITY_CLIENT_ID,
        keyDir: path.join(data, 'identity'),
      },
      cognito: {
        region: e.COGNITO_REGION ?? '',
        userPoolId: e.COGNITO_USER_POOL_ID ?? '',
        clientId: e.COGNITO_CLIENT_ID ?? '',
        clientSecret: e.COGNITO_CLIENT_SECRET,
        endpoint: e.COGNITO_ENDPOINT,
      },
    },
    email: {
      provider: e.EMAIL_PROVIDER,
      from: e.EMAIL_FROM,
      outboxDir: path.join(data, 'outbox'),
      sendgrid: { apiKey: e.SENDGRID_API_KEY ?? '', baseUrl: e.SENDGRID_BASE_URL },
    },
    tours: {
      earlyStartMinutes: e.TOUR_EARLY_START_MINUTES,
      maxCallMinutes: e.TOUR_MAX_CALL_MINUTES,
      emptyCallEndMinutes: e.TOUR_EMPTY_CALL_END_MINUTES,
      notesGraceMinutes: e.TOUR_NOTES_GRACE_MINUTES,
      noShowGraceMinutes: e.TOUR_NO_SHOW_GRACE_MINUTES,
      recordingMaxBytes: e.RECORDING_MAX_BYTES,
      recordCalls: e.RECORD_CALLS,
    },
    meetings: {
      provider: e.MEETINGS_PROVIDER,
      region: e.CHIME_REGION,
      mediaRegion: e.CHIME_MEDIA_REGION,
      recordingsBucketArn: e.CHIME_RECORDINGS_BUCKET_ARN ?? '',
      accountId: e.CHIME_ACCOUNT_ID,
    },
    ai: {
      transcription: e.TRANSCRIPTION_PROVIDER ?? e.AI_PROVIDER,
      analysis: e.ANALYSIS_PROVIDER ?? e.AI_PROVIDER,
      apiKey: e.OPENAI_API_KEY ?? '',
      baseUrl: e.OPENAI_BASE_URL,
      chatModel: e.OPENAI_CHAT_MODEL,
      localStt: {
        venv: path.join(tools, 'stt'),
        modelDir: e.LOCAL_STT_MODEL_DIR ? resolveFromRoot(e.LOCAL_STT_MODEL_DIR) : undefined,
        threads: e.LOCAL_STT_THREADS,
      },
    },
    bookings: {
      minNoticeMinutes: e.BOOKING_MIN_NOTICE_MINUTES,
      maxAheadDays: e.BOOKING_MAX_AHEAD_DAYS,
      expiryLeadMinutes: e.BOOKING_EXPIRY_LEAD_MINUTES,
      sweepIntervalSeconds: e.BOOKING_SWEEP_INTERVAL_SECONDS,
    },
    storage: {
      provider: e.STORAGE_PROVIDER,
      localDir: path.join(data, 'storage'),
      signingSecret: e.STORAGE_SIGNING_SECRET,
      urlTtlSeconds: e.STORAGE_URL_TTL_SECONDS,
      avatarMaxBytes: e.AVATAR_MAX_BYTES,
      s3: {
        bucket: e.S3_BUCKET ?? '',
        region: e.S3_REGION,
        endpoint: e.S3_ENDPOINT,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
        sse: e.S3_SSE,
        kmsKeyId: e.S3_KMS_KEY_ID,
      },
    },
    images: { maxBytes: e.IMAGE_MAX_BYTES, maxPixels: e.IMAGE_MAX_PIXELS, maxFiles: e.IMAGE_MAX_FILES },
  };
}

let cached: Config | undefined;

/** The process-wide configuration, read from the environment once. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/**
 * The environment for a child process (PostgreSQL, the transcription process): this
 * process's own, which the child needs (PATH, HOME, locale), with `extra` on top.
 */
export function childProcessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
