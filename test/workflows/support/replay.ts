import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { historyFromJson, type History } from '../../fixtures/history-json';

/** Where the recorders (test/tools/record-*-history.ts) write the committed histories. */
export const HISTORIES_DIR = path.join(__dirname, '..', '..', 'fixtures', 'histories');

/** The committed history files whose names start with `prefix` (e.g. 'booking-'), sorted. */
export function historyFiles(prefix: string): string[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
}

/** Histories carry no workflow id: each is named after its file. */
export function committedHistories(files: string[]): Array<HistoryAndWorkflowId & { history: History }> {
  return files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))) }));
}

/** Replays `histories` against the workflows bundled from `workflowsPath`; one result each. */
export async function replayHistories(workflowsPath: string, replayName: string, histories: HistoryAndWorkflowId[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName }, histories)) results.push(r);
  return results;
}

/** A quiet SDK runtime for the replays, unless an earlier test file of this process installed one. */
export function installReplayRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    // Already installed in this process by an earlier test file: keep that one.
  }
}
