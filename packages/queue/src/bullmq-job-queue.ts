import { setTimeout as sleep } from 'node:timers/promises';
import type { DefaultJobOptions, Queue, Worker } from 'bullmq';
import type { LogPort } from '@keyway/core';
import type { Redis } from 'ioredis';
import {
  consoleQueueLogger,
  createRedisClient,
  errorReporter,
  isConnectionError,
  QueueUnavailableError,
  trackCopies,
  withTimeout,
} from './bullmq-connection';
import type { QueueRedisConnection } from './bullmq-connection';
import { loadBullmq } from './bullmq-connection';
import { checkJobId, LIST_GROUPS, newestFirst, newJobId, queueOfJobId } from './bullmq-jobs';
import type { StoredJob } from './bullmq-jobs';
import { addUnlessPending, readStatus, readTasks } from './bullmq-queue-ops';
import { bullProcessor } from './bullmq-processor';
import {
  loadSidePayload,
  SIDE_PAYLOAD_CHARS,
  SidePayloadError,
  sidePayloadKey,
  sidePayloadKeyOf,
  sidePayloadRef,
  storeSidePayload,
} from './bullmq-side-payload';
import { JOB_NAMES } from './names';
import type { JobName } from './names';
import { parseJobPayload } from './payloads';
import type { JobInput } from './payloads';
import type { EnqueueOptions, JobHandler, JobQueue, ProcessOptions, TaskStatus } from './port';

/** Options of {@link BullJobQueue}. */
export interface BullJobQueueOptions {
  /** Redis as a URL or ioredis options; the adapter opens (and closes) its own connections from it. */
  connection: QueueRedisConnection;
  /** Prefix of every Redis key (default `kw`): replicas with the same prefix share the queues. */
  prefix?: string;
  /** Runs per job including retries (default 5). */
  attempts?: number;
  /** Delay before the first retry; doubles for each further one (default 1000 ms). */
  backoffMs?: number;
  /** How long succeeded jobs stay visible to `status`/`list` (default and minimum: 1 h, as the port promises). */
  keepFinishedMs?: number;
  /** How long failed jobs stay visible (default 7 days), so a failure can still be looked into later. */
  keepFailedMs?: number;
  /** How long `enqueue`, `status` and `list` wait for Redis before rejecting (default 5000 ms). */
  timeoutMs?: number;
  /** Most tasks `list` returns, the newest (default 1000). */
  listLimit?: number;
  /**
   * How long `close` gives BullMQ, once the running jobs finished, to record their results and close its
   * connections (default 10 000 ms); past it (Redis unreachable) the connections are dropped.
   */
  closeTimeoutMs?: number;
  /** Where Redis errors and failed attempts are reported (default: warnings and errors on the console). */
  logger?: LogPort;
  /**
   * Jobs deleted as soon as they succeed (default: `request-logs`, `usage-batch`, `key-events` and `alert`): gateways' batches carry
   * the data itself, and keeping an hour of them would hold every log record of that hour in Redis. Nobody
   * asks for their status; failed ones are kept like any other. Their big payloads (a log batch) are kept beside
   * the job rather than in it (see SIDE_PAYLOAD_CHARS), and deleted with it.
   */
  transient?: readonly JobName[];
  /** How often declared schedules are checked for being still in Redis (default 60 000 ms). */
  scheduleWatchMs?: number;
}

/** Gateways' high-volume hand-over batches, and alerts (their outcome is in the alert history). */
const TRANSIENT_JOBS: readonly JobName[] = ['request-logs', 'usage-batch', 'key-events', 'alert'];

/**
 * How often workers look for stalled jobs (BullMQ's own is 30 s, which made a log batch caught in a Redis restart
 * wait up to a minute): a job left active without a lock — its worker died, or Redis restarted while handing it
 * over — runs again after two looks. A job whose worker is alive keeps its lock (renewed every 15 s), so a shorter
 * look never takes a running job away.
 */
const STALLED_CHECK_MS = 5_000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Longest wait between two tries to register a schedule while Redis is unreachable. */
const MAX_SCHEDULE_RETRY_MS = 30_000;
/** How often declared schedules are checked for being still in Redis. */
const SCHEDULE_WATCH_MS = 60_000;
/** Jobs whose payload goes when they fail for good too: it is upstream keys, and a failed import is sent again. */
const SECRET_PAYLOADS: readonly JobName[] = ['key-import'];
/**
 * Replaces a finished job's payload with `null`, unless the hash under its id is no longer that finished job (a
 * job enqueued again under the same id in between keeps its own payload).
 */
const FORGET_PAYLOAD = `if redis.call('HGET', KEYS[1], 'finishedOn') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'data', 'null')
return 1`;

/** BullMQ's settings for every job this instance adds (schedule runs included): retries and retention. */
function jobDefaults(options: BullJobQueueOptions): DefaultJobOptions {
  const keepFinishedMs = options.keepFinishedMs ?? HOUR_MS;
  if (keepFinishedMs < HOUR_MS) throw new RangeError('keepFinishedMs must be at least one hour');
  return {
    attempts: Math.max(1, Math.floor(options.attempts ?? 5)),
    backoff: { type: 'exponential', delay: Math.max(0, options.backoffMs ?? 1000) },
    // BullMQ counts these in seconds and applies them whenever another job of the queue finishes.
    removeOnComplete: { age: Math.ceil(keepFinishedMs / 1000) },
    removeOnFail: { age: Math.ceil(Math.max(keepFinishedMs, options.keepFailedMs ?? 7 * DAY_MS) / 1000) },
  };
}

/**
 * The job queue of distributed mode, on BullMQ: one queue per job name under `prefix`, retries with
 * exponential backoff, progress, schedules that every replica may declare (one BullMQ job scheduler per name).
 * Any number of instances may share the queues: control planes enqueue and read statuses, workers process.
 * Job ids are unique across names (generated ones are `<name>.<uuid>`), so `status(id)` needs no name; a
 * caller's `jobId` must be a string BullMQ accepts (no `:`, not an integer).
 */
export class BullJobQueue implements JobQueue {
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly listLimit: number;
  private readonly logger: LogPort;
  private readonly report: (source: string, error: Error) => void;
  /** Connection of the Queues (enqueue, status, list, schedules); fails fast while Redis is down. */
  private readonly producer: Redis;
  /** Connection of the Workers, opened by the first `process`; BullMQ adds a blocking one per Worker. */
  private consumer: Redis | null = null;
  /** Drops the consumer's copies (BullMQ's blocking connections). */
  private dropCopies: () => void = () => undefined;
  private readonly queues: ReadonlyMap<JobName, Queue>;
  /** Jobs deleted as soon as they succeed (see {@link BullJobQueueOptions.transient}). */
  private readonly transient: ReadonlySet<JobName>;
  private readonly workers = new Map<JobName, Worker>();
  /** The handlers running now, all Workers together. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly registering = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private closing: Promise<void> | null = null;
  /** Schedules this instance declared, re-declared when Redis lost them (a flush, a restart without persistence). */
  private readonly schedules = new Map<JobName, { everyMs: number; data: unknown }>();
  private scheduleWatch: ReturnType<typeof setInterval> | undefined;
  /**
   * How long a payload kept beside its job stays in Redis: a day longer than a failed job is kept. A job still
   * waiting for a worker after that fails for want of its payload.
   */
  private readonly sidePayloadTtlSeconds: number;

  constructor(private readonly options: BullJobQueueOptions) {
    const defaultJobOptions = jobDefaults(options);
    const removeOnFail = defaultJobOptions.removeOnFail as { age: number };
    this.sidePayloadTtlSeconds = removeOnFail.age + DAY_MS / 1000;
    this.transient = new Set(options.transient ?? TRANSIENT_JOBS);
    this.prefix = options.prefix ?? 'kw';
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.listLimit = Math.max(1, options.listLimit ?? 1000);
    this.logger = options.logger ?? consoleQueueLogger;
    this.report = errorReporter(this.logger);
    this.producer = createRedisClient(options.connection, 'producer', `${this.prefix}:queue-producer`);
    this.producer.on('error', (error: Error) => this.report('producer', error));
    const queues = new Map<JobName, Queue>();
    for (const name of JOB_NAMES) {
      const transient = this.transient.has(name);
      const queue = new (loadBullmq().Queue)(name, {
        connection: this.producer,
        prefix: this.prefix,
        defaultJobOptions: transient ? { ...defaultJobOptions, removeOnComplete: true } : defaultJobOptions,
      });
      queue.on('error', (error) => this.report(`queue ${name}`, error));
      queues.set(name, queue);
    }
    this.queues = queues;
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobInput<N>,
    opts: EnqueueOptions = {},
  ): Promise<{ id: string }> {
    // Trusted batches are validated once, by the processor, before their handler runs.
    const data = opts.trusted ? payload : parseJobPayload(name, payload);
    const delay = Math.max(0, opts.delayMs ?? 0);
    const queue = this.queue(name);
    const { jobId } = opts;
    if (jobId !== undefined) checkJobId(jobId);
    // A big transient payload first goes beside its job (the job only names its key), so the job is never added
    // without it; a failed add leaves it to expire. Not under a caller's id: a job still pending under it keeps
    // its own payload.
    const text = jobId === undefined && this.transient.has(name) ? JSON.stringify(data) : '';
    if (text.length >= SIDE_PAYLOAD_CHARS) return this.addBeside(name, [text], delay);
    const id = jobId ?? newJobId(name);
    await this.call(`enqueue ${name}`, async () => {
      if (jobId === undefined) await queue.add(name, data, { jobId: id, delay });
      else await addUnlessPending(queue, name, data, jobId, delay);
    });
    return { id };
  }

  /**
   * {@link enqueue} of a trusted payload already made into JSON text, given in pieces (strings, or its UTF-8 bytes)
   * whose concatenation is that text: a gateway's log batch, whose rows it keeps as bytes and never as one string.
   * A transient job's big payload is stored piece by piece beside its job; any other payload is parsed and enqueued
   * as usual.
   */
  async enqueueJson(name: JobName, pieces: readonly (string | Buffer)[]): Promise<{ id: string }> {
    let size = 0;
    for (const piece of pieces) size += piece.length;
    if (!this.transient.has(name) || size < SIDE_PAYLOAD_CHARS)
      return this.enqueue(name, JSON.parse(pieces.map(String).join('')) as JobInput<typeof name>, {
        trusted: true,
      });
    return this.addBeside(name, pieces, 0);
  }

  /** Adds a job whose payload, given as pieces of its JSON text, is stored beside it (the job names its key). */
  private async addBeside(
    name: JobName,
    pieces: readonly (string | Buffer)[],
    delay: number,
  ): Promise<{ id: string }> {
    const queue = this.queue(name);
    const id = newJobId(name);
    const side = sidePayloadKey(this.prefix, id);
    await this.call(`enqueue ${name}`, async () => {
      await storeSidePayload(this.producer, side, pieces, this.sidePayloadTtlSeconds);
      await queue.add(name, sidePayloadRef(side), { jobId: id, delay });
    });
    return { id };
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>, opts: ProcessOptions = {}): void {
    this.assertOpen();
    if (this.workers.has(name)) throw new Error(`a handler for ${name} is already registered`);
    const processor = bullProcessor(name, handler, this.queue(name), {
      logger: this.logger,
      running: this.running,
      payloadOf: (job) => this.payloadOf(job),
    });
    const { Worker: BullWorker } = loadBullmq();
    const worker = new BullWorker<unknown, unknown, string>(name, processor, {
      connection: this.consumerClient(),
      prefix: this.prefix,
      concurrency: Math.max(1, Math.floor(opts.concurrency ?? 1)),
      stalledInterval: STALLED_CHECK_MS,
    });
    // Without a listener an 'error' event would throw; BullMQ reconnects by itself, so it is only reported.
    worker.on('error', (error) => this.report(`worker ${name}`, error));
    worker.on('failed', (job: StoredJob | undefined, error: Error) =>
      this.logger.warn(
        { job: name, id: job?.id, attempt: job?.attemptsMade, err: error },
        'job queue: job failed',
      ),
    );
    // A finished job stays for its retention (status and list read it), but nothing reads its payload again:
    // an import's is every key it added (in plain text unless ENCRYPTION_KEY is set), and every list read it back.
    if (!this.transient.has(name)) worker.on('completed', (job: StoredJob) => this.forgetPayload(name, job));
    // BullMQ deleted the succeeded job; its payload beside it goes too. A failed one keeps it, to be looked into
    // (and retried), until it expires.
    else worker.on('completed', (job: StoredJob) => this.dropSidePayload(name, job));
    // Only a final failure has `finishedOn` (forgetPayload checks it); a failed batch otherwise stays whole, to be
    // looked into.
    if (SECRET_PAYLOADS.includes(name))
      worker.on('failed', (job: StoredJob | undefined) => job && this.forgetPayload(name, job));
    this.workers.set(name, worker);
  }

  schedule<N extends JobName>(name: N, everyMs: number, payload: JobInput<N>): void {
    this.assertOpen();
    if (!Number.isFinite(everyMs) || everyMs <= 0) throw new RangeError('everyMs must be a positive number');
    const data = parseJobPayload(name, payload);
    this.schedules.set(name, { everyMs: Math.floor(everyMs), data });
    this.watchSchedules();
    const registration = this.register(name, Math.floor(everyMs), data);
    this.registering.add(registration);
    void registration.finally(() => this.registering.delete(registration));
  }

  status(id: string): Promise<TaskStatus | null> {
    return this.call('status', async () => {
      const likely = queueOfJobId(id);
      if (likely) {
        const found = await readStatus(this.queue(likely), likely, id);
        if (found) return found;
      }
      const others = JOB_NAMES.filter((name) => name !== likely);
      const found = await Promise.all(others.map((name) => readStatus(this.queue(name), name, id)));
      return found.find((s) => s !== null) ?? null;
    });
  }

  list(opts: { active?: boolean } = {}): Promise<TaskStatus[]> {
    const groups = opts.active
      ? LIST_GROUPS.filter((g) => g.state === 'queued' || g.state === 'running')
      : LIST_GROUPS;
    return this.call('list', async () => {
      const perQueue = await Promise.all(
        JOB_NAMES.map((name) => readTasks(this.queue(name), name, groups, this.listLimit)),
      );
      return newestFirst(perQueue.flat()).slice(0, this.listLimit);
    });
  }

  /** Stops taking jobs, waits for running ones, closes the connections. Schedules stay: they live in Redis. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------------------

  private queue(name: JobName): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue for ${name}`);
    return queue;
  }

  private forgetPayload(name: JobName, job: StoredJob): void {
    if (job.id === undefined || !job.finishedOn) return;
    const key = this.queue(name).toKey(job.id);
    this.producer
      .eval(FORGET_PAYLOAD, 1, key, String(job.finishedOn))
      .catch((error: unknown) =>
        this.report(`forget payload of ${name}`, error instanceof Error ? error : new Error(String(error))),
      );
  }

  /**
   * The key of the payload kept beside `job`, null when its data is the payload. Only the key this queue gives a
   * job's payload is read (and deleted once the job succeeded): data naming any other Redis key is refused.
   */
  private sidePayloadOf(job: StoredJob): string | null {
    const side = sidePayloadKeyOf(job.data);
    if (side === null) return null;
    if (job.id === undefined || side !== sidePayloadKey(this.prefix, job.id))
      throw new SidePayloadError(`job ${job.id ?? '?'} names a payload key that is not its own`);
    return side;
  }

  /** A job's payload: its data, or what is kept beside it. */
  private async payloadOf(job: StoredJob): Promise<unknown> {
    const side = this.sidePayloadOf(job);
    return side === null ? job.data : await loadSidePayload(this.producer, side, job.id ?? '');
  }

  private dropSidePayload(name: JobName, job: StoredJob): void {
    let side: string | null;
    try {
      side = this.sidePayloadOf(job);
    } catch {
      return; // not ours to delete
    }
    if (side === null) return;
    this.producer
      .del(side)
      .catch((error: unknown) =>
        this.report(`drop payload of ${name}`, error instanceof Error ? error : new Error(String(error))),
      );
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('job queue is closed');
  }

  private consumerClient(): Redis {
    if (!this.consumer) {
      this.consumer = createRedisClient(this.options.connection, 'consumer', `${this.prefix}:queue-consumer`);
      this.consumer.on('error', (error: Error) => this.report('consumer', error));
      this.dropCopies = trackCopies(this.consumer);
    }
    return this.consumer;
  }

  /**
   * Runs a producer operation once the queues are connected, bounded by `timeoutMs`. An operation whose wait
   * for the connection outlasts the deadline is dropped rather than run after the caller was told it failed.
   */
  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const deadline = Date.now() + this.timeoutMs;
    const unavailable = (cause?: unknown) =>
      new QueueUnavailableError(`job queue: Redis is unavailable (${what})`, { cause });
    const work = (async () => {
      await Promise.all([...this.queues.values()].map((q) => q.waitUntilReady()));
      if (Date.now() > deadline) throw unavailable();
      return op();
    })();
    try {
      return await withTimeout(work, this.timeoutMs, () =>
        unavailable(new Error(`no answer within ${this.timeoutMs} ms`)),
      );
    } catch (error) {
      if (error instanceof QueueUnavailableError) throw error;
      throw this.producer.status !== 'ready' || isConnectionError(error) ? unavailable(error) : error;
    }
  }

  /** Upserts the schedule of `name`, retrying while Redis is unreachable (a replica may start before it). */
  /** Every minute, puts back any declared schedule Redis no longer has (an existing one is left untouched). */
  private watchSchedules(): void {
    if (this.scheduleWatch) return;
    this.scheduleWatch = setInterval(() => {
      for (const [name, s] of this.schedules) {
        void this.queue(name)
          .getJobScheduler(name)
          .then((found) => {
            if (found || this.closing) return;
            this.logger.warn({ job: name }, 'job queue: schedule missing from Redis; declaring it again');
            return this.register(name, s.everyMs, s.data);
          })
          .catch(() => undefined); // Redis away: the next round tries again
      }
    }, this.options.scheduleWatchMs ?? SCHEDULE_WATCH_MS);
    this.scheduleWatch.unref();
  }

  private async register(name: JobName, everyMs: number, data: unknown): Promise<void> {
    const queue = this.queue(name);
    for (let attempt = 1; !this.closing; attempt++) {
      try {
        // One scheduler per job name: every replica declaring it upserts the same one instead of adding its own.
        await this.call(`schedule ${name}`, () =>
          queue.upsertJobScheduler(name, { every: everyMs }, { name, data }),
        );
        return;
      } catch (error) {
        if (this.closing) return;
        const retryMs = Math.min(MAX_SCHEDULE_RETRY_MS, 500 * 2 ** attempt);
        this.logger.warn(
          { job: name, err: error, retryMs },
          'job queue: could not register a schedule, retrying',
        );
        await sleep(retryMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.stopping.abort();
    if (this.scheduleWatch) clearInterval(this.scheduleWatch);
    await Promise.allSettled([...this.registering]);
    // Workers stop taking jobs at once; the jobs they run finish, however long that takes.
    const workers = [...this.workers.values()];
    const workersClosed = this.settle(
      'worker',
      workers.map((w) => w.close()),
    );
    await Promise.allSettled([...this.running]);
    // Then BullMQ records the last results and closes its connections, which it cannot while Redis is away.
    const tidy = workersClosed.then(() =>
      this.settle(
        'queue',
        [...this.queues.values()].map((q) => q.close()),
      ),
    );
    const tidied = await withTimeout(
      tidy.then(() => true),
      this.closeTimeoutMs,
      () => new Error('close timed out'),
    ).catch(() => false);
    if (!tidied)
      this.logger.warn(
        { closeTimeoutMs: this.closeTimeoutMs },
        'job queue: Redis did not answer while closing, dropped the connections',
      );
    // The connections are ours, not BullMQ's (it only closes the copies it made): nothing uses them any more.
    this.dropCopies();
    this.consumer?.disconnect();
    this.producer.disconnect();
  }

  private async settle(what: string, closing: Promise<void>[]): Promise<void> {
    for (const r of await Promise.allSettled(closing))
      if (r.status === 'rejected') {
        const reason: unknown = r.reason;
        this.logger.warn({ err: reason }, `job queue: closing a ${what} failed`);
      }
  }
}
