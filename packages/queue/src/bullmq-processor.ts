import type { Processor, Queue } from 'bullmq';
import type { LogPort } from '@keyway/core';
import { loadBullmq } from './bullmq-connection';
import type { StoredJob } from './bullmq-jobs';
import { storedProgress } from './bullmq-jobs';
import type { JobName } from './names';
import { SidePayloadError } from './bullmq-side-payload';
import { InvalidJobPayloadError, parseJobPayload } from './payloads';
import type { JobPayload } from './payloads';
import { isPermanentJobError } from './port';
import type { JobHandler } from './port';

/** What a schedule's run returns when it was skipped because the previous run is still going. */
export const SKIPPED_RUN = { skipped: 'the previous run of this schedule is still running' } as const;

/**
 * Whether an earlier run of `job`'s schedule is still active. BullMQ creates a schedule's next run when the
 * current one starts, so a run that outlasts the interval would otherwise overlap the next one on another
 * worker (or another slot of this one).
 */
export async function previousRunActive(queue: Queue, job: StoredJob): Promise<boolean> {
  const active: StoredJob[] = await queue.getJobs(['active']);
  const id = job.id ?? '';
  return active.some(
    (other) =>
      other.repeatJobKey === job.repeatJobKey &&
      other.id !== id &&
      (other.timestamp < job.timestamp || (other.timestamp === job.timestamp && (other.id ?? '') < id)),
  );
}

/**
 * The BullMQ processor of job `name`: reads the payload (from beside the job when it is there: `payloadOf`),
 * re-parses it (a producer of another version may have written it), hands the port's `Job` to `handler`, and
 * turns a PermanentJobError (or a payload no retry can fix) into BullMQ's UnrecoverableError so it fails without
 * further attempts.
 */
export function bullProcessor<N extends JobName>(
  name: N,
  handler: JobHandler<N>,
  queue: Queue,
  context: {
    logger: LogPort;
    running: Set<Promise<unknown>>;
    /** The job's payload as its producer gave it; rejects with SidePayloadError when it is lost. */
    payloadOf: (job: StoredJob) => Promise<unknown>;
  },
): Processor<unknown, unknown, string> {
  return async (job: StoredJob) => {
    if (job.repeatJobKey !== undefined && (await previousRunActive(queue, job))) {
      context.logger.info(
        { job: name, id: job.id },
        'job queue: skipped a scheduled run, the previous one runs',
      );
      return SKIPPED_RUN;
    }
    let payload: JobPayload<N>;
    try {
      payload = parseJobPayload(name, await context.payloadOf(job));
    } catch (error) {
      // Redis unreachable while reading a payload kept beside the job: a later attempt may find it. A payload that
      // is gone, not JSON or not valid stays so.
      const lasting =
        error instanceof InvalidJobPayloadError ||
        error instanceof SidePayloadError ||
        error instanceof SyntaxError;
      if (!lasting) throw error instanceof Error ? error : new Error(String(error));
      throw new (loadBullmq().UnrecoverableError)(error.message);
    }
    // Tracked so that closing waits for the handler itself, however long it takes, and only for it.
    const run = Promise.resolve().then(() =>
      handler({
        id: job.id ?? '',
        name,
        payload,
        attempt: job.attemptsMade + 1,
        progress: (processed, total) => job.updateProgress(storedProgress(processed, total)),
      }),
    );
    context.running.add(run);
    try {
      const result = await run;
      return result === undefined ? null : result;
    } catch (error) {
      if (isPermanentJobError(error)) throw new (loadBullmq().UnrecoverableError)(error.message);
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      context.running.delete(run);
    }
  };
}
