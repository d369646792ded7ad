import { metricsRegistry, scrapeUrl, startExpositionServer, type MetricsServer } from '../lib/metrics';

/**
 * Several processes' Prometheus expositions (text format 0.0.4) as one: `npm start` runs the
 * API and the worker as two processes but serves one /metrics. Both have the Node process
 * families (process_*, nodejs_*) and may share others; the format wants each family once,
 * its HELP and TYPE before its samples, so families are merged, and each part's samples can
 * carry a label saying which process they come from.
 */

export interface ExpositionPart {
  text: string;
  /** Added to every sample of this part, e.g. ['process', 'worker']. */
  label?: [string, string];
}

interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** `name{a="b"} 1` → `name{a="b",k="v"} 1`; `name 1` → `name{k="v"} 1`. */
export function withLabel(sample: string, [key, value]: [string, string]): string {
  const name = METRIC_NAME.exec(sample)?.[0];
  if (!name) return sample;
  const pair = `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const rest = sample.slice(name.length);
  if (!rest.startsWith('{')) return `${name}{${pair}}${rest}`;
  // The closing brace outside any quoted label value.
  let quoted = false;
  for (let i = 1; i < rest.length; i += 1) {
    const c = rest[i];
    if (quoted && c === '\\') i += 1;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '}') {
      const inner = rest.slice(1, i).trim();
      return `${name}{${inner ? `${inner.replace(/,$/, '')},` : ''}${pair}}${rest.slice(i + 1)}`;
    }
  }
  return sample;
}

/** Which family a sample belongs to: the current one when its name is that family's (or a _bucket/_sum/_count/_total of it). */
function familyOf(sampleName: string, current: string | undefined): string {
  if (current && (sampleName === current || (sampleName.startsWith(`${current}_`) && /^_(bucket|sum|count|total|created|gcount|gsum)$/.test(sampleName.slice(current.length))))) return current;
  return sampleName;
}

export function mergeExpositions(parts: ExpositionPart[]): string {
  const families = new Map<string, Family>();
  const comments: string[] = [];
  const family = (name: string) => families.get(name) ?? families.set(name, { samples: [] }).get(name)!;
  for (const part of parts) {
    let current: string | undefined;
    for (const raw of part.text.split('\n')) {
      const line = raw.trimEnd();
      if (!line) continue;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith('#')) {
        comments.push(line);
        continue;
      }
      const name = METRIC_NAME.exec(line)?.[0];
      if (!name) continue;
      const key = familyOf(name, current);
      if (key !== current) current = undefined;
      family(key).samples.push(part.label ? withLabel(line, part.label) : line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    out.push(...f.samples);
  }
  out.push(...comments);
  return `${out.join('\n')}\n`;
}

/**
 * `npm start`'s one GET /metrics: this process's registry (the API's series) merged with the
 * worker process's exposition (its activities' KPIs, its Node process, the Temporal SDK's
 * series), whose samples carry process="worker".
 */
export function startCombinedMetricsServer(host: string, port: number, workerMetricsUrl: string): Promise<MetricsServer> {
  const worker = scrapeUrl(workerMetricsUrl);
  return startExpositionServer(host, port, async () => {
    const [own, theirs] = await Promise.all([metricsRegistry.metrics(), worker()]);
    return mergeExpositions([{ text: own }, { text: theirs, label: ['process', 'worker'] }]);
  });
}
