import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { childProcessEnv } from '../../lib/config';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../../lib/logger';
import { AiPermanentError, type TranscribeInput, type Transcription, type TranscriptionProvider } from './port';
import { resolveSttModel, type SttModel } from './stt-model';
import { confidenceFrom, fromVerboseJson } from './verbose-json';

/**
 * Local speech-to-text: faster-whisper (CTranslate2, CPU int8) in one long-lived Python
 * process per worker (adapters/ai/stt-server.py), which loads the model once and answers
 * one job at a time as JSON lines over stdio. Jobs queue here. The process is started on
 * first use, after the model check, and again after it dies; a job it was running fails
 * with a retryable error so the activity's retry runs it on a fresh process. Undecodable
 * audio is a permanent error. Cancelling a job kills the process (the next job restarts it).
 */

export interface LocalWhisperOptions {
  /** The virtualenv with faster-whisper (config.ai.localStt.venv). */
  venv: string;
  /** A model folder of the operator's choosing; absent: the pinned, hash-checked tiny.en. */
  modelDir?: string;
  /** CTranslate2 CPU threads; 0 lets it choose. */
  threads?: number;
  logger?: Logger;
}

const SERVER_SCRIPT = path.join(__dirname, 'stt-server.py');
/** Heartbeats between progress reports: model loading and long segments say nothing for a while. */
const HEARTBEAT_EVERY_MS = 5_000;
const STDERR_TAIL_LINES = 20;

interface Job {
  id: number;
  heartbeat?: TranscribeInput['heartbeat'];
  resolve(verboseJson: unknown): void;
  reject(err: unknown): void;
}

interface Child {
  proc: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  model: SttModel;
  stderr: string[];
}

/**
 * Children still running when the Node process exits are killed with it. One set per
 * process, even when this module is loaded again (jest loads it once per test file).
 */
const LIVING = Symbol.for('realtyforyou.stt-children');
const living: Set<ChildProcessWithoutNullStreams> = ((globalThis as Record<symbol, unknown>)[LIVING] as Set<ChildProcessWithoutNullStreams> | undefined) ??
  (() => {
    const set = new Set<ChildProcessWithoutNullStreams>();
    (globalThis as Record<symbol, unknown>)[LIVING] = set;
    process.once('exit', () => {
      for (const proc of set) proc.kill('SIGKILL');
    });
    return set;
  })();

export class LocalWhisperTranscriber implements TranscriptionProvider {
  readonly name = 'local' as const;
  readonly configured = true;
  private readonly opts: LocalWhisperOptions;
  private child: Child | undefined;
  private current: Job | undefined;
  private nextId = 1;
  /** Resolves when the job before the newest one has finished: jobs run one at a time. */
  private tail: Promise<void> = Promise.resolve();

  constructor(opts: LocalWhisperOptions) {
    this.opts = opts;
  }

  /** The transcription process's id, while one runs. */
  get pid(): number | undefined {
    return this.child?.proc.pid;
  }

  /** Checks the venv and the model (hashes, once per process) without starting anything. */
  async prepare(): Promise<void> {
    this.python();
    await this.model();
  }

  async transcribe(input: TranscribeInput): Promise<Transcription> {
    input.signal?.throwIfAborted();
    const before = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.tail = before.then(() => mine);
    const beat = input.heartbeat ? setInterval(() => input.heartbeat?.(), HEARTBEAT_EVERY_MS) : undefined;
    try {
      await abortable(before, input.signal);
      return await this.run(input);
    } finally {
      if (beat) clearInterval(beat);
      release();
    }
  }

  /** Stops the transcription process; a later job starts a new one. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.stdin.end();
      child.proc.kill('SIGTERM');
      await exited;
    }
  }

  private python(): string {
    const python = path.join(this.opts.venv, 'bin', 'python');
    if (!existsSync(python)) {
      throw new Error(`Local transcription needs faster-whisper in ${this.opts.venv}: run \`npm run stt:toolchain\` (or set TRANSCRIPTION_PROVIDER=openai).`);
    }
    return python;
  }

  private model(): Promise<SttModel> {
    return resolveSttModel({ venv: this.opts.venv, modelDir: this.opts.modelDir });
  }

  private async run(input: TranscribeInput): Promise<Transcription> {
    const child = await this.ensureChild();
    this.busy(child, true);
    try {
      await abortable(child.ready, input.signal);
      const reply = await new Promise<unknown>((resolve, reject) => {
        const id = this.nextId++;
        const onAbort = () => {
          this.current = undefined;
          reject(abortReason(input.signal));
          // The model cannot be interrupted mid-file; the next job starts a new process.
          if (this.child === child) this.child = undefined;
          child.proc.kill('SIGKILL');
        };
        input.signal?.addEventListener('abort', onAbort, { once: true });
        const done = <T>(fn: (v: T) => void) => (v: T) => {
          input.signal?.removeEventListener('abort', onAbort);
          this.current = undefined;
          fn(v);
        };
        this.current = { id, heartbeat: input.heartbeat, resolve: done(resolve), reject: done(reject) };
        child.proc.stdin.write(`${JSON.stringify({ id, file: input.file })}\n`);
      });
      const part = fromVerboseJson(reply, 0);
      return {
        text: part.text,
        segments: part.segments,
        confidence: confidenceFrom(part.logprobs),
        language: part.language ?? 'en',
        model: child.model.name,
      };
    } finally {
      this.busy(child, false);
    }
  }

  private async ensureChild(): Promise<Child> {
    if (this.child) return this.child;
    const python = this.python();
    const model = await this.model();
    if (this.child) return this.child;
    const args = [SERVER_SCRIPT, '--model', model.dir, '--threads', String(this.opts.threads ?? 0)];
    const proc = spawn(python, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Never reach the Hugging Face Hub: the model is loaded from its folder only.
      env: childProcessEnv({ HF_HUB_OFFLINE: '1', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' }),
    });
    living.add(proc);
    const stderr: string[] = [];
    let markReady!: () => void;
    let failReady!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => undefined);
    const child: Child = { proc, ready, model, stderr };
    this.child = child;
    this.opts.logger?.info({ pid: proc.pid, model: model.dir, pinned: model.pinned }, 'starting the transcription process');

    createInterface({ input: proc.stderr }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > STDERR_TAIL_LINES) stderr.shift();
      this.opts.logger?.debug({ pid: proc.pid }, `stt-server: ${line}`);
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.opts.logger?.warn({ pid: proc.pid, line }, 'unexpected output from the transcription process');
        return;
      }
      if (msg.event === 'ready') return markReady();
      const job = this.current;
      if (!job || msg.id !== job.id) return;
      if (msg.event === 'progress') {
        job.heartbeat?.({ done_s: Number(msg.done), duration_s: Number(msg.duration) });
      } else if (msg.event === 'result') {
        job.resolve(msg.transcription);
      } else if (msg.event === 'error') {
        const message = `Local transcription failed: ${String(msg.message)}`;
        job.reject(msg.kind === 'bad_audio' ? new AiPermanentError(message) : new Error(message));
      }
    });

    const onGone = (why: string) => {
      living.delete(proc);
      if (this.child === child) this.child = undefined;
      const tail = stderr.slice(-5).join('\n');
      const err = new Error(`The transcription process ${why}${tail ? `: ${tail}` : ''}; a new one starts on the next attempt.`);
      failReady(err);
      const job = this.current;
      if (job) job.reject(err);
    };
    proc.on('error', (err) => onGone(`could not run (${err.message})`));
    proc.on('exit', (code, signal) => {
      if (code !== 0 || this.current) this.opts.logger?.warn({ pid: proc.pid, code, signal }, 'the transcription process exited');
      onGone(signal ? `was killed (${signal})` : `exited with code ${code}`);
    });
    // EPIPE when it died: 'exit' reports that.
    proc.stdin.on('error', () => undefined);
    this.busy(child, false);
    return child;
  }

  /** An idle process does not keep Node alive (tests, shutdown); a busy one does. */
  private busy(child: Child, busy: boolean): void {
    const handles = [child.proc, child.proc.stdin, child.proc.stdout, child.proc.stderr] as { ref(): void; unref(): void }[];
    for (const h of handles) {
      if (busy) h.ref();
      else h.unref();
    }
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : Object.assign(new Error('Transcription cancelled'), { name: 'AbortError' });
}

/** `p`, or a rejection as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
