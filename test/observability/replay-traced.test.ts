import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { replayCodeOptions } from '../../workers/worker';
import { historyFromJson } from '../fixtures/history-json';

/**
 * Every worker's workflow bundle carries the trace-propagating workflow interceptors
 * (tracing on or off, see workers/worker.ts). Every committed history, recorded by workers
 * without them, must replay with them: deploying them must not break workflows in flight.
 * (A history recorded with tracing on, replayed with and without them: trace.test.ts.)
 */
const HISTORIES_DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(HISTORIES_DIR)
  .filter((f) => /^(booking|tour)-.+\.json$/.test(f))
  .sort();

describe('replay of committed histories with the workflow interceptors', () => {
  beforeAll(() => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    } catch {
      // Already installed in this process by an earlier test file: keep that one.
    }
  });

  it('when every booking and tour history is replayed by the bundle workers run, then none fails', async () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))) }));
    const results: ReplayResult[] = [];
    for await (const r of Worker.runReplayHistories({ ...replayCodeOptions(), replayName: 'interceptors-replay' }, histories)) results.push(r);
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error?.message })).sort((a, b) => a.workflowId.localeCompare(b.workflowId))).toEqual(
      files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), error: undefined })),
    );
  });
});
