import path from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads `process.env`. Everything else receives a `Config`.
 * Validation reports every bad key at once so an operator fixes them in one go.
 */

export const PROJECT_ROOT = path.resolve(__dirname, '..');

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
  DATA_DIR: z.string().min(1).default('.data'),
  TOOLS_DIR: z.string().min(1).default('.tools'),

  DATABASE_URL: z.union([postgresUrl, z.literal('')]).optional(),
  DATABASE_POOL_MIN: z.coerce.number().int().min(0).default(0),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EMBEDDED_PG_PORT: port.default(54329),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('realtyforyou'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_TEST_SERVER_PATH: optionalString,

  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(15_000),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  http: { host: string; port: number; workerHealthPort: number };
  paths: { root: string; data: string; tools: string };
  database: {
    /** Absent means: run the embedded PostgreSQL under the data folder. */
    url: string | undefined;
    pool: { min: number; max: number };
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
  };
  shutdownTimeoutMs: number;
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
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, workerHealthPort: e.WORKER_HEALTH_PORT },
    paths: { root: PROJECT_ROOT, data, tools },
    database: {
      url: e.DATABASE_URL || undefined,
      pool: { min: e.DATABASE_POOL_MIN, max: e.DATABASE_POOL_MAX },
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
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

let cached: Config | undefined;

/** The process-wide configuration, read from the environment once. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
