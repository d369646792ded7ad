import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../lib/config';

/** Self time of a V8 CPU profile (`node --cpu-prof`), by package and by function. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  byOwner: ProfileShare[];
  byFunction: ProfileShare[];
}

/** Who a frame belongs to: an npm package, a project file, Node.js itself, or V8. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? `V8 ${functionName}` : 'V8 (native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    const name = url.slice('node:'.length).replace(/^internal\//, '');
    const area = name.split('/')[0]!;
    return `node:${area.replace(/^_/, '').replace(/_.*/, '')}`;
  }
  const file = url.replace(/^file:\/\//, '');
  return file.startsWith(PROJECT_ROOT) ? file.slice(PROJECT_ROOT.length + 1) : file;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample's frame.
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
    // Line numbers of project files point into tsx's output, not the source: leave them out.
    const line = url && (url.includes('/node_modules/') || url.startsWith('node:')) ? `:${lineNumber + 1}` : '';
    const fn = `${functionName || '(anonymous)'} — ${owner}${line}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms, share: ms / (busy || 1) }));
  return { busyMs: busy, idleMs: idle, byOwner: rank(owners), byFunction: rank(functions) };
}
