import { randomUUID } from 'node:crypto';
import type { JobName } from './names';
import { parseJobPayload } from './payloads';
import type { JobInput, JobPayload } from './payloads';
import { isPermanentJobError, PermanentJobError } from './port';
import { progressCount } from './progress';
import type { EnqueueOptions, JobHandler, JobQueue, ProcessOptions, TaskState, TaskStatus } from './port';

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions {
  /** Runs per job including retries (default 3). */
  attempts?: number;
  /** Delay before the first retry; doubles for each further one (default 1000 ms). */
  backoffMs?: number;
  /** How long finished jobs stay visible to `status`/`list` (default 1 h). */
  retentionMs?: number;
  /** Clock, for tests of the retention. */
  now?: () => number;
}

interface Entry {
  id: string;
  name: JobName;
  payload: unknown;
  /** Enqueued as trusted: validated when it first runs. */
  unchecked: boolean;
  state: TaskState;
  processed: number;
  total: number;
  result: unknown;
  error: string | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

interface Lane {
  handler: JobHandler<JobName> | null;
  concurrency: number;
  running: number;
  waiting: Entry[];
}

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

/**
 * The in-process job queue of standalone mode (and of tests): per-name lanes with bounded concurrency, retries
 * with exponential backoff, progress, schedules on unref'd timers. Nothing survives a restart, which is fine
 * for what runs on it: schedules re-create their jobs, and an interrupted validation is simply run again.
 */
export class MemoryJobQueue implements JobQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly lanes = new Map<JobName, Lane>();
  private readonly schedules = new Map<JobName, NodeJS.Timeout>();
  /** Delay and retry timers; cleared on close so nothing starts after it. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoffMs = Math.max(0, options.backoffMs ?? 1000);
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.now = options.now ?? Date.now;
  }

  enqueue<N extends JobName>(
    name: N,
    payload: JobInput<N>,
    opts: EnqueueOptions = {},
  ): Promise<{ id: string }> {
    if (this.closed) return Promise.reject(new Error('job queue is closed'));
    let parsed: JobPayload<N>;
    try {
      // A trusted payload is read (parsed into its handler's form) when it first runs.
      parsed = opts.trusted ? (payload as JobPayload<N>) : parseJobPayload(name, payload);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.prune();
    const id = opts.jobId ?? randomUUID();
    const existing = this.entries.get(id);
    if (existing && existing.finishedAt === null) return Promise.resolve({ id });
    // A finished job with the same id is replaced: its id names "the" job of something (e.g. one validation
    // per group), and a new request for it after the previous one finished must run.
    const at = this.now();
    const entry: Entry = {
      id,
      name,
      payload: parsed,
      unchecked: opts.trusted === true,
      state: 'queued',
      processed: 0,
      total: 0,
      result: null,
      error: null,
      attempts: 0,
      createdAt: at,
      updatedAt: at,
      finishedAt: null,
    };
    this.entries.delete(id);
    this.entries.set(id, entry);
    const delay = opts.delayMs ?? 0;
    if (delay > 0) this.later(delay, () => this.push(entry));
    else this.push(entry);
    return Promise.resolve({ id });
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>, opts: ProcessOptions = {}): void {
    if (this.closed) throw new Error('job queue is closed');
    const lane = this.lane(name);
    if (lane.handler) throw new Error(`a handler for ${name} is already registered`);
    // Handlers are stored per name; the lane only ever hands a handler jobs of its own name.
    lane.handler = handler as unknown as JobHandler<JobName>;
    lane.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.pump(lane);
  }

  schedule<N extends JobName>(name: N, everyMs: number, payload: JobInput<N>): void {
    if (this.closed) throw new Error('job queue is closed');
    if (!Number.isFinite(everyMs) || everyMs <= 0) throw new RangeError('everyMs must be a positive number');
    const parsed = parseJobPayload(name, payload);
    const previous = this.schedules.get(name);
    if (previous) clearInterval(previous);
    const timer = setInterval(() => {
      // A fixed id: while the previous run is queued or running, this tick is a no-op instead of a pile-up.
      // A parsed payload is a valid input again (its own form).
      this.enqueue(name, parsed as JobInput<N>, { jobId: `schedule:${name}` }).catch(() => undefined);
    }, everyMs);
    timer.unref();
    this.schedules.set(name, timer);
  }

  status(id: string): Promise<TaskStatus | null> {
    this.prune();
    const e = this.entries.get(id);
    return Promise.resolve(e ? this.view(e) : null);
  }

  list(opts: { active?: boolean } = {}): Promise<TaskStatus[]> {
    this.prune();
    const out: TaskStatus[] = [];
    for (const e of this.entries.values()) {
      if (opts.active && e.finishedAt !== null) continue;
      out.push(this.view(e));
    }
    return Promise.resolve(out.reverse());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.schedules.values()) clearInterval(t);
    this.schedules.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const lane of this.lanes.values()) lane.waiting.length = 0;
    await Promise.allSettled([...this.running]);
  }

  // -------------------------------------------------------------------------------------------------------

  private lane(name: JobName): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { handler: null, concurrency: 1, running: 0, waiting: [] };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private push(entry: Entry): void {
    if (this.closed) return;
    const lane = this.lane(entry.name);
    lane.waiting.push(entry);
    this.pump(lane);
  }

  private pump(lane: Lane): void {
    while (!this.closed && lane.handler && lane.running < lane.concurrency && lane.waiting.length > 0) {
      const entry = lane.waiting.shift() as Entry;
      lane.running++;
      const run = this.run(lane.handler, entry);
      this.running.add(run);
      void run.finally(() => {
        this.running.delete(run);
        lane.running--;
        this.pump(lane);
      });
    }
  }

  private async run(handler: JobHandler<JobName>, e: Entry): Promise<void> {
    e.attempts++;
    this.touch(e, 'running');
    try {
      if (e.unchecked) {
        try {
          e.payload = parseJobPayload(e.name, e.payload);
          e.unchecked = false;
        } catch (error) {
          throw new PermanentJobError(error instanceof Error ? error.message : String(error));
        }
      }
      const result = await handler({
        id: e.id,
        name: e.name,
        payload: e.payload as JobPayload<JobName>,
        attempt: e.attempts,
        progress: (processed, total) => {
          if (e.state === 'running') {
            e.processed = progressCount(processed);
            e.total = progressCount(total);
            e.updatedAt = this.now();
          }
          return Promise.resolve();
        },
      });
      e.result = result === undefined ? null : result;
      e.error = null;
      e.finishedAt = this.now();
      this.touch(e, 'succeeded');
    } catch (error) {
      e.error = error instanceof Error ? error.message : String(error);
      if (e.attempts < this.attempts && !isPermanentJobError(error) && !this.closed) {
        this.touch(e, 'queued');
        this.later(this.backoffMs * 2 ** (e.attempts - 1), () => this.push(e));
      } else {
        e.finishedAt = this.now();
        this.touch(e, 'failed');
      }
    }
  }

  private touch(e: Entry, state: TaskState): void {
    e.state = state;
    e.updatedAt = this.now();
    // A finished job stays visible (status, list) for the retention period, but nothing reads its payload again:
    // a 100,000-key import's was ~10 MB of the standalone's heap for that hour.
    if (e.finishedAt !== null) e.payload = null;
  }

  private view(e: Entry): TaskStatus {
    return {
      id: e.id,
      type: e.name,
      state: e.state,
      processed: e.processed,
      total: e.total,
      result: e.result,
      error: e.error,
      createdAt: new Date(e.createdAt).toISOString(),
      updatedAt: new Date(e.updatedAt).toISOString(),
    };
  }

  /** Forgets finished jobs past the retention; runs on every call that reads or adds, so memory stays bounded. */
  private prune(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const e of this.entries.values())
      if (e.finishedAt !== null && e.finishedAt < cutoff) this.entries.delete(e.id);
  }
}
