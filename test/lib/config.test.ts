import path from 'node:path';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../lib/config';

describe('config', () => {
  it('when nothing is set, then the embedded defaults apply', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBeUndefined();
    expect(config.database.embedded.dir).toBe(path.join(PROJECT_ROOT, '.data', 'postgres'));
    expect(config.temporal.address).toBeUndefined();
    expect(config.temporal.dev).toMatchObject({ port: 7233, uiPort: 8233 });
    expect(config.temporal.dev.dbFile).toBe(path.join(PROJECT_ROOT, '.data', 'temporal', 'temporal.db'));
    expect(config.temporal.cliPath).toBe(path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal'));
  });

  it('when production values are set, then they are used', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      TEMPORAL_ADDRESS: 'temporal:7233',
      PORT: '8080',
      TEMPORAL_CLI_PATH: '/opt/temporal',
    });
    expect(config.database.url).toBe('postgres://u:p@db:5432/app');
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.http.port).toBe(8080);
    expect(config.temporal.cliPath).toBe('/opt/temporal');
  });

  it('when rate limits are not set, then generous defaults apply; set, they are used; 0 turns only the per-user limit off', () => {
    expect(loadConfig({}).api.rateLimits).toEqual({
      authAddress: { max: 30, windowSeconds: 60 },
      authAccount: { max: 10, windowSeconds: 900 },
      apiUser: { max: 1200, windowSeconds: 60 },
    });
    const set = loadConfig({ AUTH_RATE_LIMIT_MAX: '5', AUTH_ACCOUNT_RATE_LIMIT_MAX: '3', AUTH_ACCOUNT_RATE_LIMIT_WINDOW_SECONDS: '60', API_RATE_LIMIT_MAX: '0' });
    expect(set.api.rateLimits).toMatchObject({ authAddress: { max: 5 }, authAccount: { max: 3, windowSeconds: 60 }, apiUser: { max: 0 } });
    expect(() => loadConfig({ AUTH_ACCOUNT_RATE_LIMIT_MAX: '0', API_RATE_LIMIT_WINDOW_SECONDS: '0' })).toThrow(/AUTH_ACCOUNT_RATE_LIMIT_MAX[\s\S]*API_RATE_LIMIT_WINDOW_SECONDS/);
  });

  it('when several values are malformed, then one error lists every bad key', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', DATABASE_POOL_MAX: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'DATABASE_POOL_MAX']) expect(problems).toContain(key);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration:/);
  });

  it('when transcription and analysis are chosen separately, then each follows its own key and AI_PROVIDER is the shorthand', () => {
    expect(loadConfig({}).ai).toMatchObject({ transcription: 'local', analysis: 'local' });
    expect(loadConfig({ AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-x' }).ai).toMatchObject({ transcription: 'openai', analysis: 'openai' });
    expect(loadConfig({ ANALYSIS_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-x' }).ai).toMatchObject({ transcription: 'local', analysis: 'openai' });
    expect(loadConfig({ AI_PROVIDER: 'openai', TRANSCRIPTION_PROVIDER: 'local', OPENAI_API_KEY: 'sk-x' }).ai).toMatchObject({ transcription: 'local', analysis: 'openai' });
    expect(() => loadConfig({ TRANSCRIPTION_PROVIDER: 'openai' })).toThrow(/OPENAI_API_KEY: required when TRANSCRIPTION_PROVIDER/);
    expect(loadConfig({}).tours.recordCalls).toBe(true);
    expect(loadConfig({ RECORD_CALLS: 'false' }).tours.recordCalls).toBe(false);
  });

  it('when Chime records into local files outside tests, then the configuration is refused', () => {
    const chime = { MEETINGS_PROVIDER: 'chime', CHIME_RECORDINGS_BUCKET_ARN: 'arn:aws:s3:::rec' };
    expect(() => loadConfig(chime)).toThrow(/STORAGE_PROVIDER: must be s3/);
    expect(loadConfig({ ...chime, STORAGE_PROVIDER: 's3', S3_BUCKET: 'rec' }).meetings.provider).toBe('chime');
  });

  it('when an empty DATABASE_URL is given, then the embedded database is used', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.url).toBeUndefined();
  });
});

describe('nothing but lib/config.ts reads process.env', () => {
  it('when the source folders are scanned, then process.env appears only in the config module', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const offenders: string[] = [];
    for (const dir of ['api', 'workflows', 'activities', 'workers', 'db', 'adapters', 'lib', 'scripts']) {
      const entries = await readdir(path.join(PROJECT_ROOT, dir), { recursive: true, withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (!e.isFile() || !e.name.endsWith('.ts')) continue;
        const file = path.join(e.parentPath, e.name);
        if (path.relative(PROJECT_ROOT, file) === path.join('lib', 'config.ts')) continue;
        if ((await readFile(file, 'utf8')).includes('process.env')) offenders.push(path.relative(PROJECT_ROOT, file));
      }
    }
    expect(offenders).toEqual([]);
  });
});
