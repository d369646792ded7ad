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

const otlpProtocol = z.enum(['http/protobuf', 'http/json'], {
  message: 'must be http/protobuf or http/json (the collector\'s HTTP port, usually 4318; gRPC is not supported)',
});

/**
 * A W3C-baggage-style `key=value,key=value` list (OTEL_RESOURCE_ATTRIBUTES, OTLP headers),
 * values percent-decoded; undefined when one entry is malformed.
 */
function keyValueList(text: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const entry of text.split(',')) {
    if (!entry.trim()) continue;
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq).trim();
    if (eq <= 0 || !key) return undefined;
    try {
      out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return out;
}

const otel = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

/** `journal_mode=wal,synchronous=normal` → pragmas, or undefined when not pragmas the dev server accepts. */
function sqlitePragmas(text: string): Record<string, string> | undefined {
  const pairs = keyValueList(text);
  if (!pairs) return undefined;
  const allowed: Record<string, RegExp> = { journal_mode: /^(delete|truncate|persist|memory|wal|off)$/i, synchronous: /^(off|normal|full|extra|[0-3])$/i };
  for (const [k, v] of Object.entries(pairs)) if (!allowed[k]?.test(v)) return undefined;
  return pairs;
}

const keyValues = optionalString.refine((v) => keyValueList(v) !== undefined, 'must be a list of key=value pairs separated by commas');

/** How long the API waits for a workflow command before answering 202 (WORKFLOW_COMMAND_WAIT_MS). */
export const DEFAULT_WORKFLOW_COMMAND_WAIT_MS = 10_000;

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
  // The dev server's SQLite (only journal_mode and synchronous are accepted by `temporal server start-dev`).
  TEMPORAL_DEV_SQLITE_PRAGMAS: z
    .string()
    .default('journal_mode=wal,synchronous=normal')
    .refine((v) => sqlitePragmas(v) !== undefined, 'must be journal_mode=<delete|truncate|persist|memory|wal|off> and/or synchronous=<off|normal|full|extra>, separated by commas (or empty for SQLite\'s own defaults)'),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_TEST_SERVER_PATH: optionalString,
  TEMPORAL_RPC_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(30_000),
  WORKFLOW_COMMAND_WAIT_MS: z.coerce.number().int().min(100).max(120_000).default(DEFAULT_WORKFLOW_COMMAND_WAIT_MS),
  TEMPORAL_WORKER_POLL_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(3600).default(90),
  // The worker's own options (workers/worker.ts; README "Scaling"). Defaults fit `npm start` on a small machine.
  TEMPORAL_WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(2000).default(100),
  TEMPORAL_WORKER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(2000).default(100),
  TEMPORAL_WORKER_LOCAL_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(2000).default(100),
  TEMPORAL_WORKER_WORKFLOW_POLLERS: z.coerce.number().int().min(2).max(200).default(20),
  TEMPORAL_WORKER_ACTIVITY_POLLERS: z.coerce.number().int().min(1).max(200).default(10),
  TEMPORAL_WORKER_NON_STICKY_POLL_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  TEMPORAL_WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(1000),
  TEMPORAL_WORKER_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(16).default(1),
  TEMPORAL_WORKER_REUSE_V8_CONTEXT: z.enum(['true', 'false']).default('true'),
  TEMPORAL_WORKER_EAGER_ACTIVITIES: z.coerce.number().int().min(0).max(100).default(3),
  TEMPORAL_WORKER_STICKY_SCHEDULE_TO_START_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
  TEMPORAL_WORKER_MAX_OLD_SPACE_MB: z.coerce.number().int().min(0).max(65_536).default(384),
  TEMPORAL_WORKER_MALLOC_ARENA_MAX: z.coerce.number().int().min(0).max(256).default(2),
  TEMPORAL_WORKER_DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
  TEMPORAL_WORKER_DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),

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
  // Share links (H9): the longest a link may live is capped at 30 days whatever is set.
  SHARE_LINK_MAX_DAYS: z.coerce.number().int().min(1).max(30).default(30),
  SHARE_LINK_MIN_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(10),
  SHARE_LINK_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(60),
  SHARE_LINK_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),

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
  BOOKING_REMINDER_HEADSTART_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
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
  WEBHOOKS_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  WEBHOOKS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(30_000).default(10_000),
  WEBHOOKS_RETRY_WINDOW_HOURS: z.coerce.number().min(0.01).max(72).default(24),
  WEBHOOKS_DISABLE_AFTER_HOURS: z.coerce.number().min(0.01).max(720).default(24),
  WEBHOOKS_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),

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

  // OpenTelemetry, under the standard variable names (read here, not by the SDK); as the
  // specification says, an empty value counts as unset.
  OTEL_SDK_DISABLED: otel(z.enum(['true', 'false']).default('false').transform((v) => v === 'true')),
  OTEL_TRACES_EXPORTER: otel(z.enum(['none', 'otlp', 'console']).optional()),
  OTEL_SERVICE_NAME: otel(optionalString),
  OTEL_RESOURCE_ATTRIBUTES: otel(keyValues),
  OTEL_TRACES_SAMPLER_ARG: otel(z.coerce.number().min(0).max(1).default(1)),
  OTEL_EXPORTER_OTLP_ENDPOINT: otel(z.url().optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otel(z.url().optional()),
  OTEL_EXPORTER_OTLP_PROTOCOL: otel(otlpProtocol.optional()),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otel(otlpProtocol.optional()),
  OTEL_EXPORTER_OTLP_HEADERS: otel(keyValues),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otel(keyValues),
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

/** The Temporal worker's options that matter for throughput and memory (README "Scaling"). */
export interface TemporalWorkerTuning {
  /** Workflow tasks run at once (TEMPORAL_WORKER_WORKFLOW_TASK_SLOTS). */
  maxConcurrentWorkflowTaskExecutions: number;
  /** Activities run at once (TEMPORAL_WORKER_ACTIVITY_SLOTS). */
  maxConcurrentActivityTaskExecutions: number;
  /** Local activities (the workflows' short database steps) run at once (TEMPORAL_WORKER_LOCAL_ACTIVITY_SLOTS). */
  maxConcurrentLocalActivityExecutions: number;
  /** Long polls for workflow tasks, sticky and not (TEMPORAL_WORKER_WORKFLOW_POLLERS). */
  maxConcurrentWorkflowTaskPolls: number;
  /** Long polls for activity tasks (TEMPORAL_WORKER_ACTIVITY_POLLERS). */
  maxConcurrentActivityTaskPolls: number;
  /** Share of the workflow polls on the shared (non-sticky) queue, where new workflows' first tasks wait (TEMPORAL_WORKER_NON_STICKY_POLL_RATIO). */
  nonStickyToStickyPollRatio: number;
  /** Workflows kept in memory between tasks; one evicted is replayed from its history (TEMPORAL_WORKER_CACHED_WORKFLOWS). */
  maxCachedWorkflows: number;
  /** Threads running workflow code (TEMPORAL_WORKER_WORKFLOW_THREADS). */
  workflowThreadPoolSize: number;
  /** One V8 context per thread for all workflows, not one each (TEMPORAL_WORKER_REUSE_V8_CONTEXT). */
  reuseV8Context: boolean;
  /** Activities a workflow task may take straight back from the server when it completes; 0 turns eager dispatch off (TEMPORAL_WORKER_EAGER_ACTIVITIES). */
  maxEagerActivityReservationsPerWorkflowTask: number;
  /** How long a task waits on this worker's sticky queue before any worker may take it (TEMPORAL_WORKER_STICKY_SCHEDULE_TO_START_SECONDS). */
  stickyQueueScheduleToStartTimeout: number;
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
    /** sqlitePragmas: `--sqlite-pragma` of the dev server (WAL, synchronous=normal by default; README "Scaling"). */
    dev: { port: number; uiPort: number; dbFile: string; sqlitePragmas: Record<string, string> };
    cliPath: string;
    testServerPath: string;
    /** Deadline of every Temporal call the API makes for one request (retries included). */
    rpcTimeoutMs: number;
    /** A task queue whose last worker poll is older than this has no worker: commands answer 503. */
    workerPollMaxAgeMs: number;
    /** How long the API waits for a workflow command before answering 202 (it goes on in the workflow); at most rpcTimeoutMs. */
    commandWaitMs: number;
    /** The worker's options (TEMPORAL_WORKER_*), as the SDK's WorkerOptions name them. */
    worker: TemporalWorkerTuning;
    /** The worker process's PostgreSQL pool (TEMPORAL_WORKER_DATABASE_*), in place of DATABASE_POOL_MAX and DATABASE_ACQUIRE_TIMEOUT_MS. */
    workerDatabasePool: { max: number; acquireTimeoutMs: number };
    /** `npm start` gives its worker process this V8 old-space limit per isolate (--max-old-space-size); 0 = node's own (TEMPORAL_WORKER_MAX_OLD_SPACE_MB). */
    workerMaxOldSpaceMb: number;
    /** `npm start` runs its worker process with glibc's MALLOC_ARENA_MAX set to this; 0 = glibc's own (8 per core) (TEMPORAL_WORKER_MALLOC_ARENA_MAX). */
    workerMallocArenaMax: number;
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
    /** A reminder's activity starts this long before the reminder is due and sends at its time. */
    reminderHeadstartSeconds: number;
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
  webhooks: {
    /** Development only: plain http and private, loopback and link-local addresses may be webhook targets. */
    allowPrivate: boolean;
    /** One delivery attempt, redirects included. */
    timeoutMs: number;
    /** A delivery is retried with backoff for this long, then marked failed. */
    retryWindowMs: number;
    /** An endpoint whose deliveries have all failed for this long is disabled and its owner emailed. */
    disableAfterMs: number;
    /** How often the worker turns new domain events into deliveries. */
    dispatchIntervalMs: number;
  };
  shareLinks: {
    /** The longest a share link may live (at most 30 days). */
    maxDays: number;
    /** The shortest an explicit expires_at may leave a new link. */
    minMinutes: number;
    /** GET /api/v1/shared/:token per client address, counted in PostgreSQL. */
    rateLimit: RateLimit;
  };
  telemetry: {
    /** Where trace spans go; `none` loads no OpenTelemetry code at all. */
    traces: 'none' | 'otlp' | 'console';
    /** Absent: each process names itself (realtyforyou-api, realtyforyou-worker, realtyforyou). */
    serviceName: string | undefined;
    resourceAttributes: Record<string, string>;
    /** Share of new traces recorded (parent-based: a sampled caller's trace is always continued). */
    sampleRatio: number;
    otlp: { url: string; protocol: 'http/protobuf' | 'http/json'; headers: Record<string, string> };
  };
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
        sqlitePragmas: sqlitePragmas(e.TEMPORAL_DEV_SQLITE_PRAGMAS) ?? {},
      },
      cliPath: e.TEMPORAL_CLI_PATH ? resolveFromRoot(e.TEMPORAL_CLI_PATH) : path.join(toolBin, 'temporal'),
      testServerPath: e.TEMPORAL_TEST_SERVER_PATH
        ? resolveFromRoot(e.TEMPORAL_TEST_SERVER_PATH)
        : path.join(toolBin, 'temporal-test-server'),
      rpcTimeoutMs: e.TEMPORAL_RPC_TIMEOUT_MS,
      workerPollMaxAgeMs: e.TEMPORAL_WORKER_POLL_MAX_AGE_SECONDS * 1000,
      // Within the request's own Temporal deadline, so a lower TEMPORAL_RPC_TIMEOUT_MS caps it.
      commandWaitMs: Math.min(e.WORKFLOW_COMMAND_WAIT_MS, e.TEMPORAL_RPC_TIMEOUT_MS),
      worker: {
        maxConcurrentWorkflowTaskExecutions: e.TEMPORAL_WORKER_WORKFLOW_TASK_SLOTS,
        maxConcurrentActivityTaskExecutions: e.TEMPORAL_WORKER_ACTIVITY_SLOTS,
        maxConcurrentLocalActivityExecutions: e.TEMPORAL_WORKER_LOCAL_ACTIVITY_SLOTS,
        // The SDK allows no more pollers than slots.
        maxConcurrentWorkflowTaskPolls: Math.min(e.TEMPORAL_WORKER_WORKFLOW_POLLERS, e.TEMPORAL_WORKER_WORKFLOW_TASK_SLOTS),
        maxConcurrentActivityTaskPolls: Math.min(e.TEMPORAL_WORKER_ACTIVITY_POLLERS, e.TEMPORAL_WORKER_ACTIVITY_SLOTS),
        nonStickyToStickyPollRatio: e.TEMPORAL_WORKER_NON_STICKY_POLL_RATIO,
        maxCachedWorkflows: e.TEMPORAL_WORKER_CACHED_WORKFLOWS,
        workflowThreadPoolSize: e.TEMPORAL_WORKER_WORKFLOW_THREADS,
        reuseV8Context: e.TEMPORAL_WORKER_REUSE_V8_CONTEXT === 'true',
        maxEagerActivityReservationsPerWorkflowTask: e.TEMPORAL_WORKER_EAGER_ACTIVITIES,
        stickyQueueScheduleToStartTimeout: e.TEMPORAL_WORKER_STICKY_SCHEDULE_TO_START_SECONDS * 1000,
      },
      workerDatabasePool: { max: e.TEMPORAL_WORKER_DATABASE_POOL_MAX, acquireTimeoutMs: e.TEMPORAL_WORKER_DATABASE_ACQUIRE_TIMEOUT_MS },
      workerMaxOldSpaceMb: e.TEMPORAL_WORKER_MAX_OLD_SPACE_MB,
      workerMallocArenaMax: e.TEMPORAL_WORKER_MALLOC_ARENA_MAX,
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
      reminderHeadstartSeconds: e.BOOKING_REMINDER_HEADSTART_SECONDS,
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
    webhooks: {
      allowPrivate: e.WEBHOOKS_ALLOW_PRIVATE,
      timeoutMs: e.WEBHOOKS_TIMEOUT_MS,
      retryWindowMs: Math.round(e.WEBHOOKS_RETRY_WINDOW_HOURS * 3_600_000),
      disableAfterMs: Math.round(e.WEBHOOKS_DISABLE_AFTER_HOURS * 3_600_000),
      dispatchIntervalMs: e.WEBHOOKS_DISPATCH_INTERVAL_MS,
    },
    shareLinks: {
      maxDays: e.SHARE_LINK_MAX_DAYS,
      minMinutes: e.SHARE_LINK_MIN_MINUTES,
      rateLimit: { max: e.SHARE_LINK_RATE_LIMIT_MAX, windowSeconds: e.SHARE_LINK_RATE_LIMIT_WINDOW_SECONDS },
    },
    telemetry: telemetryConfig(e),
  };
}

/**
 * Tracing is off unless asked for: OTEL_TRACES_EXPORTER, or an OTLP endpoint (which alone
 * means otlp). The OTLP URL follows the specification: the traces endpoint as given, or
 * the base endpoint plus /v1/traces.
 */
function telemetryConfig(e: Env): Config['telemetry'] {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const traces = e.OTEL_SDK_DISABLED ? 'none' : (e.OTEL_TRACES_EXPORTER ?? (endpoint ? 'otlp' : 'none'));
  const base = (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
  return {
    traces,
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: keyValueList(e.OTEL_RESOURCE_ATTRIBUTES) ?? {},
    sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
    otlp: {
      url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
      protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      headers: { ...keyValueList(e.OTEL_EXPORTER_OTLP_HEADERS), ...keyValueList(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    },
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
