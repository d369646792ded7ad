import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT, loadConfig } from '../../lib/config';

/**
 * The observability files as code (ops/, docker-compose.yml), checked against Prometheus's
 * and Grafana's formats and against each other: the rule file is well-formed, every alert
 * has a severity and a runbook section that README.md has, PromQL is balanced and calls
 * known functions, labels an annotation prints survive the expression's aggregation,
 * the scrape jobs the alerts name exist on the ports the processes serve, the dashboard's
 * panels use the provisioned datasource and do not overlap, and compose mounts what the
 * provisioning expects. (Metric names: ops-metric-names.test.ts.)
 *
 * promtool itself (`npm run ops:check`) is not run here: building it from the Go module
 * proxy takes well over the few minutes a test setup may take on this machine.
 */

const ROOT = PROJECT_ROOT;
const read = (...p: string[]) => readFileSync(path.join(ROOT, ...p), 'utf8');
// Merge keys (`<<: *app-env`) as docker compose reads them.
const yamlOf = <T>(...p: string[]) => parse(read(...p), { merge: true }) as T;

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const PROMQL_FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'group',
  'rate', 'irate', 'increase', 'delta', 'deriv', 'histogram_quantile', 'absent', 'absent_over_time',
  'max_over_time', 'min_over_time', 'avg_over_time', 'clamp_min', 'clamp_max', 'vector', 'scalar', 'time', 'abs',
]);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** Problems of a PromQL expression that a parser would reject: brackets, unknown functions, bad ranges. */
function promqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const ch of bare) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) problems.push(`unbalanced ${ch}`);
  }
  if (stack.length) problems.push(`unclosed ${stack.join('')}`);
  for (const m of bare.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)) {
    if (!PROMQL_FUNCTIONS.has(m[1]!) && !KEYWORDS.has(m[1]!)) problems.push(`unknown function ${m[1]}`);
  }
  for (const m of bare.matchAll(/\[([^\]]*)\]/g)) {
    if (!DURATION.test(m[1]!) && m[1] !== '$__rate_interval' && m[1] !== '$__interval') problems.push(`bad range [${m[1]}]`);
  }
  if (/\{\s*,|,\s*\}/.test(bare)) problems.push('empty matcher');
  return problems;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('ops files', () => {
  const rulesDoc = yamlOf<{ groups: Array<{ name: string; rules: Rule[] }> }>('ops', 'prometheus', 'alerts.yml');
  const rules = rulesDoc.groups.flatMap((g) => g.rules);
  const prom = yamlOf<{
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }>; static_configs?: Array<{ targets: string[] }> }>;
  }>('ops', 'prometheus', 'prometheus.yml');
  const compose = yamlOf<{ services: Record<string, { profiles?: string[]; volumes?: string[]; environment?: Record<string, unknown>; image?: string }> }>('docker-compose.yml');

  it('when alerts.yml is read, then it is a well-formed Prometheus rule file with unique alert names', () => {
    expect(Object.keys(rulesDoc)).toEqual(['groups']);
    expect(new Set(rulesDoc.groups.map((g) => g.name)).size).toBe(rulesDoc.groups.length);
    for (const g of rulesDoc.groups) {
      expect(Object.keys(g).sort()).toEqual(['name', 'rules']);
      expect(g.rules.length).toBeGreaterThan(0);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect([r.alert, Object.keys(r).filter((k) => !['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k))]).toEqual([r.alert, []]);
      expect(r.alert).toMatch(/^Rfy[A-Za-z0-9]+$/);
      expect(typeof r.expr).toBe('string');
      if (r.for !== undefined) expect([r.alert, r.for]).toEqual([r.alert, expect.stringMatching(DURATION)]);
      expect([r.alert, promqlProblems(r.expr)]).toEqual([r.alert, []]);
    }
  });

  it('when the alerts the issue asks for are looked up, then each is there', () => {
    const exprOf = (name: string) => rules.find((r) => r.alert === name)?.expr ?? '';
    expect(exprOf('RfyApiErrorRateHigh')).toMatch(/status_class="5xx"[\s\S]*> 0\.01/);
    expect(rules.find((r) => r.alert === 'RfyApiErrorRateHigh')?.for).toBe('5m');
    expect(exprOf('RfyApiLatencyP95High')).toMatch(/histogram_quantile\(0\.95/);
    expect(exprOf('RfyActivityFailureRateHigh')).toContain('temporal_activity_execution_failed');
    expect(exprOf('RfyWorkersTooFew')).toContain('schedule_to_start_latency');
    expect(exprOf('RfyReminderLate')).toContain('rfy_reminder_lag_seconds_bucket{le="60"}');
    expect(exprOf('RfyToursParked')).toMatch(/rfy_tours_parked\) > 0/);
    expect(exprOf('RfyNotificationsFailing')).toContain('rfy_notifications_total');
  });

  it('when an alert fires, then it has a severity, a summary, a description and a runbook section that README.md has', () => {
    const headings = new Set(read('README.md').split('\n').flatMap((l) => (/^#{2,6} /.test(l) ? [anchor(l.replace(/^#+ /, ''))] : [])));
    for (const r of rules) {
      expect([r.alert, r.labels?.severity]).toEqual([r.alert, expect.stringMatching(/^(critical|warning)$/)]);
      expect([r.alert, Object.keys(r.annotations ?? {}).sort()]).toEqual([r.alert, ['description', 'runbook', 'summary']]);
      const [file, section] = r.annotations!.runbook!.split('#');
      expect([r.alert, file, section]).toEqual([r.alert, 'README.md', r.alert.toLowerCase()]);
      expect([r.alert, headings.has(section!)]).toEqual([r.alert, true]);
    }
  });

  it('when an annotation prints a label, then the expression keeps that label', () => {
    for (const r of rules) {
      const printed = [...Object.values(r.annotations ?? {}).join(' ').matchAll(/\$labels\.([a-zA-Z_]+)/g)].map((m) => m[1]!);
      const grouped = [...r.expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
      const aggregated = /\b(sum|max|min|avg|count)\b/.test(r.expr) || /histogram_quantile/.test(r.expr);
      for (const label of printed) {
        // Aggregations drop every label not grouped by; a bare selector keeps them all.
        if (aggregated) expect([r.alert, label, grouped.includes(label)]).toEqual([r.alert, label, true]);
      }
      for (const t of Object.values(r.annotations ?? {})) {
        expect([r.alert, t.split('{{').length, t.split('}}').length]).toEqual([r.alert, t.split('}}').length, t.split('{{').length]);
        for (const m of t.matchAll(/\{\{([^}]*)\}\}/g)) expect([r.alert, m[1]!.trim()]).toEqual([r.alert, expect.stringMatching(/^\$(labels\.[a-z_]+|value)( \| humanize(Percentage|Duration)?)?$/)]);
      }
    }
  });

  it('when prometheus.yml is read, then it loads alerts.yml beside it and scrapes the jobs the alerts name on the ports the processes serve', () => {
    expect(prom.global.scrape_interval).toMatch(DURATION);
    expect(prom.global.evaluation_interval).toMatch(DURATION);
    expect(prom.rule_files).toEqual(['alerts.yml']);
    expect(existsSync(path.join(ROOT, 'ops', 'prometheus', prom.rule_files[0]!))).toBe(true);
    const jobs = new Map(prom.scrape_configs.map((s) => [s.job_name, s]));
    expect(jobs.size).toBe(prom.scrape_configs.length);
    const named = new Set(rules.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!)));
    expect([...named].sort()).toEqual(['rfy-api', 'rfy-worker']);
    for (const job of named) expect(jobs.has(job)).toBe(true);

    const defaults = loadConfig({ NODE_ENV: 'test' });
    const api = jobs.get('rfy-api')!.dns_sd_configs![0]!;
    const worker = jobs.get('rfy-worker')!.dns_sd_configs![0]!;
    expect(api).toMatchObject({ names: ['api'], port: defaults.metrics.port });
    expect(compose.services.api!.environment!.METRICS_PORT).toBe(api.port);
    expect(worker).toMatchObject({ names: ['worker'], port: 3001 });
    expect(compose.services.worker!.environment!.WORKER_HEALTH_PORT).toBe(worker.port);
  });

  it('when the dashboard is read, then every panel queries the provisioned datasource, ids are unique and panels do not overlap', () => {
    const ds = yamlOf<{ datasources: Array<{ uid: string; type: string; url: string }> }>('ops', 'grafana', 'provisioning', 'datasources', 'prometheus.yml').datasources;
    expect(ds).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    const dash = JSON.parse(read('ops', 'grafana', 'dashboards', 'realtyforyou.json')) as {
      uid: string;
      title: string;
      panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: Array<{ expr: string; refId: string; datasource: { uid: string } }> }>;
    };
    expect(dash.uid).toBe('rfy-overview');
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    const cells = new Map<string, string>();
    for (const p of dash.panels) {
      const { x, y, w, h } = p.gridPos;
      expect([p.title, x + w <= 24, w > 0, h > 0]).toEqual([p.title, true, true, true]);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        const taken = cells.get(`${i},${j}`);
        expect([p.title, taken]).toEqual([p.title, undefined]);
        cells.set(`${i},${j}`, p.title);
      }
      if (p.type === 'row') continue;
      expect([p.title, p.datasource?.uid, p.targets?.length]).toEqual([p.title, 'prometheus', expect.any(Number)]);
      expect(new Set(p.targets!.map((t) => t.refId)).size).toBe(p.targets!.length);
      for (const t of p.targets!) {
        expect([p.title, t.datasource.uid]).toEqual([p.title, 'prometheus']);
        expect([p.title, t.expr, promqlProblems(t.expr)]).toEqual([p.title, t.expr, []]);
      }
    }
    // What the issue asks to see.
    const titles = dash.panels.map((p) => p.title).join('\n');
    for (const want of [/p95 latency/i, /error/i, /requests \/ s/i, /schedule-to-start/i, /activity failures/i, /tours per day/i, /call setup/i, /meeting duration/i, /reminder lag/i, /parked/i]) {
      expect(titles).toMatch(want);
    }
  });

  it('when docker compose runs the observability profile, then Prometheus and Grafana mount what their configuration expects', () => {
    const { prometheus, grafana, jaeger } = compose.services;
    for (const s of [prometheus, grafana, jaeger]) expect(s?.profiles).toEqual(['observability']);
    const mounts = (s: { volumes?: string[] } | undefined) =>
      new Map((s?.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[1]!, v.split(':')[0]!] as const));
    const pm = mounts(prometheus);
    expect(pm.get('/etc/prometheus')).toBe('./ops/prometheus');
    const gm = mounts(grafana);
    expect(gm.get('/etc/grafana/provisioning')).toBe('./ops/grafana/provisioning');
    const provider = yamlOf<{ providers: Array<{ options: { path: string } }> }>('ops', 'grafana', 'provisioning', 'dashboards', 'realtyforyou.yml').providers[0]!;
    expect(gm.get(provider.options.path)).toBe('./ops/grafana/dashboards');
    for (const source of [...pm.values(), ...gm.values()]) expect([source, existsSync(path.join(ROOT, source))]).toEqual([source, true]);
    // Tracing in compose is off unless the endpoint is given, which the config reads as unset.
    expect(compose.services.api!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-}');
    expect(loadConfig({ NODE_ENV: 'test', OTEL_EXPORTER_OTLP_ENDPOINT: '' }).telemetry.traces).toBe('none');
  });

  it('when PromQL is malformed, then the check finds it (the check can fail)', () => {
    expect(promqlProblems('sum(rate(x[5m])')).toEqual(['unclosed (']);
    expect(promqlProblems('histogram_quantil(0.95, x)')).toEqual(['unknown function histogram_quantil']);
    expect(promqlProblems('rate(x[5 minutes])')).toEqual(['bad range [5 minutes]']);
  });
});
