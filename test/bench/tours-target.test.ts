import { resolveTarget } from '../../bench/tours/target';

describe('what bench:tours runs against (bench/tours/target.ts)', () => {
  it('when nothing is given, then it runs its own npm start with nothing of the environment', () => {
    expect(resolveTarget({}, { PATH: '/bin', HOME: '/root', DATABASE_URL: 'postgres://elsewhere/db' })).toEqual({ kind: 'embedded', extra: {} });
  });

  it('when API_URL, TEMPORAL_ADDRESS and DATABASE_URL are in the environment, then it runs against that deployment', () => {
    expect(resolveTarget({}, { API_URL: 'http://api.internal:3000/', TEMPORAL_ADDRESS: 'temporal:7233', DATABASE_URL: 'postgres://u:p@db:5432/rfy' })).toEqual({
      kind: 'external',
      apiUrl: 'http://api.internal:3000',
      temporalAddress: 'temporal:7233',
      databaseUrl: 'postgres://u:p@db:5432/rfy',
      namespace: 'default',
    });
  });

  it('when a flag and its variable are both given, then the flag wins', () => {
    const target = resolveTarget(
      { 'api-url': 'http://flag:3000', 'temporal-address': 'flag:7233', 'database-url': 'postgres://flag/db', namespace: 'flagged' },
      { API_URL: 'http://env:3000', TEMPORAL_ADDRESS: 'env:7233', DATABASE_URL: 'postgres://env/db', TEMPORAL_NAMESPACE: 'from-env' },
    );
    expect(target).toEqual({ kind: 'external', apiUrl: 'http://flag:3000', temporalAddress: 'flag:7233', databaseUrl: 'postgres://flag/db', namespace: 'flagged' });
  });

  it('when only TEMPORAL_ADDRESS is given, then its own npm start runs against that Temporal, and --set still wins', () => {
    expect(resolveTarget({}, { TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'bench' })).toEqual({
      kind: 'embedded',
      extra: { TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'bench' },
    });
    expect(resolveTarget({}, { TEMPORAL_ADDRESS: 'temporal:7233' }, { TEMPORAL_ADDRESS: 'other:7233', TOUR_EARLY_START_MINUTES: '5' })).toEqual({
      kind: 'embedded',
      extra: { TEMPORAL_ADDRESS: 'other:7233', TOUR_EARLY_START_MINUTES: '5' },
    });
  });

  it('when an API URL comes without its Temporal or PostgreSQL, then the error names each missing one', () => {
    expect(() => resolveTarget({ 'api-url': 'http://localhost:3000' }, {})).toThrow(
      'a running deployment (--api-url or API_URL) needs its Temporal (--temporal-address or TEMPORAL_ADDRESS) and its PostgreSQL (--database-url or DATABASE_URL) too',
    );
    expect(() => resolveTarget({}, { API_URL: 'http://localhost:3000', TEMPORAL_ADDRESS: 'localhost:7233' })).toThrow(/needs its PostgreSQL \(--database-url or DATABASE_URL\) too/);
  });

  it('when the API URL is not an http(s) URL, or --set is given with one, then it refuses', () => {
    const rest = { TEMPORAL_ADDRESS: 't:7233', DATABASE_URL: 'postgres://d/db' };
    expect(() => resolveTarget({}, { API_URL: 'localhost:3000', ...rest })).toThrow('the API URL (--api-url or API_URL) must be an http(s) URL, not "localhost:3000"');
    expect(() => resolveTarget({}, { API_URL: 'not a url', ...rest })).toThrow(/must be an http\(s\) URL/);
    expect(() => resolveTarget({}, { API_URL: 'http://localhost:3000', ...rest }, { AUTH_RATE_LIMIT_MAX: '1' })).toThrow('--set configures the embedded stack');
  });

  it('when a variable is set but empty, then it counts as not given', () => {
    expect(resolveTarget({}, { API_URL: '', TEMPORAL_ADDRESS: '  ' })).toEqual({ kind: 'embedded', extra: {} });
  });
});
