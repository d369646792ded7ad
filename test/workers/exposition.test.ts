import { mergeExpositions, withLabel } from '../../workers/exposition';

/**
 * `npm start` serves the API's and the worker process's metrics on one /metrics: the two
 * expositions merged so every family appears once (one HELP, one TYPE, then its samples),
 * the worker's samples labelled process="worker".
 */

const API = `# HELP process_cpu_user_seconds_total Total user CPU time spent in seconds.
# TYPE process_cpu_user_seconds_total counter
process_cpu_user_seconds_total 1.5
# HELP rfy_http_request_duration_seconds API request duration
# TYPE rfy_http_request_duration_seconds histogram
rfy_http_request_duration_seconds_bucket{le="0.1",route="/x"} 3
rfy_http_request_duration_seconds_bucket{le="+Inf",route="/x"} 4
rfy_http_request_duration_seconds_sum{route="/x"} 0.9
rfy_http_request_duration_seconds_count{route="/x"} 4
`;

const WORKER = `# HELP process_cpu_user_seconds_total Total user CPU time spent in seconds.
# TYPE process_cpu_user_seconds_total counter
process_cpu_user_seconds_total 7.25
# HELP temporal_num_pollers Number of pollers
# TYPE temporal_num_pollers gauge
temporal_num_pollers{poller_type="workflow_task",note="a } in \\"quotes\\""} 2
# http://127.0.0.1:9465/metrics unreachable: timeout
`;

describe('one exposition for the API and worker processes', () => {
  it('when both have a family, then it appears once with both processes\' samples, the worker\'s labelled; a family of one only is kept as is', () => {
    const merged = mergeExpositions([{ text: API }, { text: WORKER, label: ['process', 'worker'] }]);
    const lines = merged.trimEnd().split('\n');
    expect(lines.filter((l) => l === '# TYPE process_cpu_user_seconds_total counter')).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('# HELP process_cpu_user_seconds_total'))).toHaveLength(1);
    const at = lines.indexOf('# TYPE process_cpu_user_seconds_total counter');
    expect(lines.slice(at + 1, at + 3)).toEqual(['process_cpu_user_seconds_total 1.5', 'process_cpu_user_seconds_total{process="worker"} 7.25']);
    // A histogram's _bucket, _sum and _count lines stay with their family, untouched.
    const h = lines.indexOf('# TYPE rfy_http_request_duration_seconds histogram');
    expect(lines.slice(h + 1, h + 5).every((l) => l.startsWith('rfy_http_request_duration_seconds_') && !l.includes('process='))).toBe(true);
    expect(lines).toContain('temporal_num_pollers{poller_type="workflow_task",note="a } in \\"quotes\\"",process="worker"} 2');
    // A scraper's note is kept, at the end.
    expect(lines.at(-1)).toBe('# http://127.0.0.1:9465/metrics unreachable: timeout');
  });

  it('when every TYPE line is counted, then no family is declared twice (what Prometheus refuses)', () => {
    const merged = mergeExpositions([{ text: API }, { text: WORKER, label: ['process', 'worker'] }, { text: WORKER, label: ['process', 'worker-2'] }]);
    const types = merged.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    expect(merged).toContain('process_cpu_user_seconds_total{process="worker-2"} 7.25');
  });

  it('when a sample has no labels, or a value needs escaping, then the label is added as the text format wants it', () => {
    expect(withLabel('up 1', ['process', 'worker'])).toBe('up{process="worker"} 1');
    expect(withLabel('up{} 1', ['process', 'worker'])).toBe('up{process="worker"} 1');
    expect(withLabel('up{a="b"} 1 1700000000000', ['p', 'x"y\\z'])).toBe('up{a="b",p="x\\"y\\\\z"} 1 1700000000000');
  });
});
