import { z } from 'zod';
import { JOB_NAMES } from './names';
import type { JobName } from './names';
import type { JobInput, JobPayload } from './payloads';

/** Where a job is in its life: `queued` covers waiting, delayed and waiting for a retry. */
export const taskStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed']);
export type TaskState = z.infer<typeof taskStateSchema>;

/** A job as the task API shows it. */
export const taskStatusSchema = z.object({
  id: z.string(),
  type: z.enum(JOB_NAMES),
  state: taskStateSchema,
  /** Progress the handler reported (0 of 0 until it reports). */
  processed: z.number().int().min(0),
  total: z.number().int().min(0),
  /** The handler's return value once it succeeded (JSON: adapters may serialise it). */
  result: z.unknown(),
  /** The last failure's message: of the final attempt once failed, of the previous one while retrying. */
  error: z.string().nullable(),
  /** ISO timestamps. */
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TaskStatus = z.infer<typeof taskStatusSchema>;

/** What a handler is given. */
export interface Job<N extends JobName> {
  id: string;
  name: N;
  payload: JobPayload<N>;
  /** 1 for the first run, 2 for the first retry, … */
  attempt: number;
  /** Reports progress; shown by `status` while the job runs. */
  progress(processed: number, total: number): Promise<void>;
}

/** Processes one job; the resolved value becomes the task's `result`, a rejection a retry or the failure. */
export type JobHandler<N extends JobName> = (job: Job<N>) => Promise<unknown>;

/** Options of `enqueue`. */
export interface EnqueueOptions {
  /** De-duplication: while a job with this id is queued or running, enqueueing it again returns that job. */
  jobId?: string;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /**
   * The payload was built by typed code (a gateway's log batch): skip validating it here and validate it once,
   * before a handler sees it (an invalid one then fails the job without retries). For high-volume batches, whose
   * validation would cost the producer as much as the consumer.
   */
  trusted?: boolean;
}

/** Options of `process`. */
export interface ProcessOptions {
  /** Jobs of this name run at once in this process (default 1). */
  concurrency?: number;
}

/**
 * The job-queue port: the control plane enqueues, the worker processes, standalone runs both in one process.
 * Payloads are validated against their job's schema on enqueue; jobs are retried with backoff when the handler
 * rejects (not when it throws {@link PermanentJobError}).
 */
export interface JobQueue {
  /** Adds a job; rejects with `InvalidJobPayloadError` when the payload does not match the job's schema. */
  enqueue<N extends JobName>(name: N, payload: JobInput<N>, opts?: EnqueueOptions): Promise<{ id: string }>;
  /** Registers the one handler of a job name in this process; jobs enqueued earlier run once it is registered. */
  process<N extends JobName>(name: N, handler: JobHandler<N>, opts?: ProcessOptions): void;
  /** Enqueues `payload` every `everyMs`, skipping a tick while the previous run is still queued or running. */
  schedule<N extends JobName>(name: N, everyMs: number, payload: JobInput<N>): void;
  /**
   * A job's status; null when unknown or no longer kept (finished jobs are kept for at least an hour, except
   * adapters may drop succeeded `request-logs`/`key-events` batches at once: they are data, not tasks).
   */
  status(id: string): Promise<TaskStatus | null>;
  /** Known jobs, newest first; `active` keeps only queued and running ones. */
  list(opts?: { active?: boolean }): Promise<TaskStatus[]>;
  /** Stops schedules and taking jobs, waits for running jobs to finish. Idempotent. */
  close(): Promise<void>;
}

/** Thrown by a handler for a failure that retrying cannot fix (e.g. the group no longer exists). */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** True for a PermanentJobError, including one from another copy of this module. */
export function isPermanentJobError(e: unknown): e is PermanentJobError {
  return e instanceof PermanentJobError || (e instanceof Error && e.name === 'PermanentJobError');
}
