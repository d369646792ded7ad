/**
 * What `npm run bench:tours` runs against, from its flags and the environment (a flag wins
 * over its variable): a running deployment when an API URL is given (`--api-url` or
 * `API_URL`), which then needs its Temporal (`--temporal-address` or `TEMPORAL_ADDRESS`) and
 * its PostgreSQL (`--database-url` or `DATABASE_URL`) for the histories and the email ledger;
 * otherwise its own `npm start`, which uses a given Temporal (`TEMPORAL_ADDRESS`, as
 * `--set TEMPORAL_ADDRESS=…` does; `TEMPORAL_NAMESPACE` or `--namespace` its namespace) and
 * else starts its own dev server. Nothing else of the caller's environment reaches the
 * embedded stack.
 */

export interface TargetFlags {
  'api-url'?: string;
  'temporal-address'?: string;
  'database-url'?: string;
  namespace?: string;
}

export type BenchTarget =
  | { kind: 'external'; apiUrl: string; temporalAddress: string; databaseUrl: string; namespace: string }
  | { kind: 'embedded'; extra: Record<string, string> };

/** The variables read, by flag. */
const VARIABLES = { 'api-url': 'API_URL', 'temporal-address': 'TEMPORAL_ADDRESS', 'database-url': 'DATABASE_URL', namespace: 'TEMPORAL_NAMESPACE' } as const;

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function pick(flags: TargetFlags, env: Record<string, string | undefined>, name: keyof typeof VARIABLES): string | undefined {
  const value = flags[name] ?? env[VARIABLES[name]];
  return value?.trim() ? value.trim() : undefined;
}

/**
 * Decides the target; throws a message naming what is missing or wrong. `set` is what --set
 * gives the embedded stack: it wins over the environment there, and has no place with an
 * external one.
 */
export function resolveTarget(flags: TargetFlags, env: Record<string, string | undefined>, set: Record<string, string> = {}): BenchTarget {
  const apiUrl = pick(flags, env, 'api-url');
  const temporalAddress = pick(flags, env, 'temporal-address');
  const namespace = pick(flags, env, 'namespace');
  if (apiUrl) {
    if (!isHttpUrl(apiUrl)) throw new Error(`the API URL (--api-url or API_URL) must be an http(s) URL, not ${JSON.stringify(apiUrl)}`);
    if (Object.keys(set).length) throw new Error('--set configures the embedded stack; it has no effect on a running deployment (--api-url or API_URL)');
    const databaseUrl = pick(flags, env, 'database-url');
    const missing = [
      ...(temporalAddress ? [] : ['its Temporal (--temporal-address or TEMPORAL_ADDRESS)']),
      ...(databaseUrl ? [] : ['its PostgreSQL (--database-url or DATABASE_URL)']),
    ];
    if (missing.length) throw new Error(`a running deployment (--api-url or API_URL) needs ${missing.join(' and ')} too, for the histories and the email ledger`);
    return { kind: 'external', apiUrl: apiUrl.replace(/\/+$/, ''), temporalAddress: temporalAddress!, databaseUrl: databaseUrl!, namespace: namespace ?? 'default' };
  }
  const given: Record<string, string> = {
    ...(temporalAddress ? { TEMPORAL_ADDRESS: temporalAddress } : {}),
    ...(namespace ? { TEMPORAL_NAMESPACE: namespace } : {}),
  };
  return { kind: 'embedded', extra: { ...given, ...set } };
}
