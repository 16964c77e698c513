// How BullMQ's jobs map onto the port: job ids, states and the TaskStatus view.
import { randomUUID } from 'node:crypto';
import type { Job as BullJob, JobState, JobType } from 'bullmq';
import { z } from 'zod';
import { isJobName } from './names';
import type { JobName } from './names';
import type { TaskState, TaskStatus } from './port';
import { progressCount } from './progress';

/** A BullMQ job as this adapter stores it: the payload as data, whatever the handler returned as result. */
export type StoredJob = BullJob<unknown, unknown, string>;

/**
 * A generated job id: `<name>.<uuid>`. The name lets `status` go straight to the job's queue; the dot is
 * because BullMQ refuses a custom id with one `:`.
 */
export function newJobId(name: JobName): string {
  return `${name}.${randomUUID()}`;
}

/** The queue an id names: a generated id (`<name>.<uuid>`) or a schedule's run (`repeat:<name>:<ms>`). */
export function queueOfJobId(id: string): JobName | null {
  const named = /^([a-z-]+)\./.exec(id)?.[1] ?? /^repeat:([a-z-]+):\d+$/.exec(id)?.[1];
  return named !== undefined && isJobName(named) ? named : null;
}

/** Throws unless BullMQ can store `id` as a custom job id: not empty, not an integer, no `:`. */
export function checkJobId(id: string): void {
  if (id === '' || id.includes(':') || `${parseInt(id, 10)}` === id)
    throw new RangeError(`jobId ${JSON.stringify(id)} is not usable: give a non-integer string without ":"`);
}

const STATES: Record<JobState, TaskState> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'succeeded',
  failed: 'failed',
};

/** The port's state of a BullMQ state; null for a job that no longer exists. */
export function taskStateOf(state: JobState | 'unknown'): TaskState | null {
  return state === 'unknown' ? null : STATES[state];
}

/** The BullMQ states that make up one state of the port. */
export interface ListGroup {
  state: TaskState;
  types: JobType[];
}

/**
 * The BullMQ states `list` reads for each port state, in the order a job passes through them: read in this
 * order, a job that moves on between two reads shows up twice and is kept in its later state.
 */
export const LIST_GROUPS: readonly ListGroup[] = [
  { state: 'queued', types: ['waiting', 'prioritized', 'delayed', 'waiting-children'] },
  { state: 'running', types: ['active'] },
  { state: 'succeeded', types: ['completed'] },
  { state: 'failed', types: ['failed'] },
];

/** What a handler's `progress` call stores as the BullMQ job's progress; `at` feeds `updatedAt`. */
export interface StoredProgress {
  processed: number;
  total: number;
  at: number;
}

const storedProgressSchema = z.object({
  processed: z.number(),
  total: z.number(),
  at: z.number().optional(),
});

/** The progress to store for a handler's `progress(processed, total)` call. */
export function storedProgress(processed: number, total: number, at = Date.now()): StoredProgress {
  return { processed: progressCount(processed), total: progressCount(total), at };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The TaskStatus of a BullMQ job of queue `name` in `state`. */
export function toTaskStatus(name: JobName, job: StoredJob, state: TaskState): TaskStatus {
  // Anything else in `progress` (a job written by some other producer) counts as no progress reported.
  const progress = storedProgressSchema.safeParse(job.progress).data;
  const updatedAt = Math.max(job.timestamp, job.processedOn ?? 0, job.finishedOn ?? 0, progress?.at ?? 0);
  return {
    id: job.id ?? '',
    type: name,
    state,
    processed: progressCount(progress?.processed ?? 0),
    total: progressCount(progress?.total ?? 0),
    result: state === 'succeeded' ? (job.returnvalue ?? null) : null,
    // BullMQ keeps the failed attempt's reason after a later attempt succeeds; the port shows none then.
    error: state === 'succeeded' ? null : job.failedReason || null,
    createdAt: iso(job.timestamp),
    updatedAt: iso(updatedAt),
  };
}

/**
 * Whether `job` is a schedule's next run that is not due yet. BullMQ keeps it as a delayed job; the port's
 * schedule has no such job until the tick, so `list` leaves it out rather than always show a queued run.
 */
export function isFutureTick(job: StoredJob, now = Date.now()): boolean {
  return job.repeatJobKey !== undefined && job.timestamp + job.delay > now;
}

/** Newest first by creation, ties broken by id so the order is stable. */
export function newestFirst(tasks: TaskStatus[]): TaskStatus[] {
  return tasks.sort((a, b) =>
    a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
  );
}
