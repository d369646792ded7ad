import type { Distribution } from './histories';
import type { TourBenchResult } from './scenario';

/** The markdown section of docs/benchmarks.md for one tour-scale run. */

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const n1 = (n: number) => n.toFixed(1);
const dist = (d: Distribution) => `${n0(d.p50)} | ${n0(d.p95)} | ${n0(d.p99)} | ${n0(d.max)} | ${n0(d.count)}`;

export function renderToursSection(r: TourBenchResult, opts: { command: string; settings: Record<string, string>; note?: string }): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `## Tour scale: ${r.tours} tours, ${r.concurrency} clients (\`npm run bench:tours\`)`,
    '',
    `Run ${r.startedAt} with \`${opts.command}\`: ${r.problems.length ? `**${r.problems.length} problem(s)**` : 'correct (0 errors, every email exactly once, every workflow completed)'}, ${n1(r.wallSeconds)} s in all.`,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, load average at start ${m.loadAvgAtStart.join(' / ')}.`,
    `Stack: \`npm start\` defaults (API and worker each in a process of its own, Temporal dev server on SQLite, embedded PostgreSQL, local adapters) except ${Object.entries(opts.settings).map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`,
  );
  if (opts.note) lines.push('', opts.note);
  lines.push(
    '',
    'Each pair goes register → sign in → property → book → confirm → start → both join → a note each → end → recap; every pair finishes a step before any pair takes the next, so after the join phase all tours are live calls at once. Confirm, start and end carry an Idempotency-Key: one the API answers 202 (not finished within WORKFLOW_COMMAND_WAIT_MS) is repeated with its key until its final answer and timed to it ("202 first").',
    `Live calls before the first end: **${r.liveCalls}** of ${r.tours}. No recording is uploaded (local meetings capture none), so recording and transcription are skipped and the recap is highlights and summary from the notes.`,
    '',
    '| phase | requests | errors | 202 first | req/s | p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.phases.map((p) => `| ${p.name} | ${n0(p.count)} | ${p.errors} | ${p.deferred ?? 0} | ${n1(p.rps)} | ${n0(p.p50)} | ${n0(p.p95)} | ${n0(p.p99)} | ${n0(p.max)} |`),
    '',
    '| from the histories and the clients (ms) | p50 | p95 | p99 | max | count |',
    '|---|---:|---:|---:|---:|---:|',
    `| end → summary ready (client) | ${dist(r.endToSummaryReadyMs)} |`,
    `| reminder lag (ledger sent_at − due; ${r.reminders.bookings} booking${r.reminders.bookings === 1 ? '' : 's'} of their own, due during the load) | ${dist(r.reminders.lagMs)} |`,
    `| workflow first task (ExecutionStarted → first WorkflowTaskStarted) | ${dist(r.histories.firstTaskMs)} |`,
    `| workflow task schedule-to-start | ${dist(r.histories.taskScheduleToStartMs)} |`,
    `| workflow task start-to-complete | ${dist(r.histories.taskStartToCompleteMs)} |`,
    `| update accepted → completed | ${dist(r.histories.updateAcceptedToCompletedMs)} |`,
    `| activity schedule-to-start | ${dist(r.histories.activityScheduleToStartMs)} |`,
    ...r.histories.activityRunMs.map((a) => `| activity ${a.type} (started → completed) | ${dist(a)} |`),
    '',
    `History per completed tour (its booking and tour workflows): **${n1(r.histories.perTour.events)} events, ${n1(r.histories.perTour.actions)} billable actions**. Actions counted from the histories as Temporal Cloud bills them: workflow started (a child's start is its parent's initiation plus its own start), activity scheduled (plus one per retry attempt), timer started, signal received (once, where it arrives), update accepted, search-attribute upsert (one per command; one that only sets TemporalChangeVersion, written by patched(), is not billed), and the markers of one workflow task together as one (all the local activities of a task are one action); queries, heartbeats and rejected updates are not in the histories.`,
    '',
  );
  for (const [kind, k] of Object.entries(r.histories.kinds)) {
    lines.push(
      `${kind}: ${k.completed} of ${k.workflows} completed; per completed workflow ${n1(k.eventsPerWorkflow)} events and ${n1(k.actionsPerWorkflow)} actions — ` +
        k.eventsByType.map((e) => `${e.type} ${n1(e.perWorkflow)}${e.actions ? ` (${n1(e.actions)} actions)` : ''}`).join(', ') + '.',
      '',
    );
  }
  lines.push('| emails | expected | sent | missing | duplicated | not sent |', '|---|---:|---:|---:|---:|---:|');
  lines.push(...r.emails.map((e) => `| ${e.template} | ${e.expected} | ${e.sent} | ${e.missing} | ${e.duplicated} | ${e.notSent} |`));
  lines.push(`| booking-reminder (the reminder bookings) | ${r.reminders.expected} | ${r.reminders.sent} | ${r.reminders.missing} | ${r.reminders.duplicated} | ${r.reminders.notSent} |`);
  lines.push('');
  if (r.processes.length) {
    lines.push('| process (from /proc, over the run) | processes | peak RSS MiB | CPU s | CPU % of one core |', '|---|---:|---:|---:|---:|');
    lines.push(...r.processes.map((p) => `| ${p.group} | ${p.processes} | ${n0(p.peakRssMiB)} | ${n1(p.cpuSeconds)} | ${n0(p.cpuPercent)} |`));
    lines.push('');
  } else {
    lines.push('Process RSS and CPU: not measured (an external stack).', '');
  }
  if (r.problems.length) lines.push('Problems:', '', ...r.problems.map((p) => `- ${p}`), '');
  return lines.join('\n');
}
