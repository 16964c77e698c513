import type { JobQueue } from '@keyway/queue';
import { JOBS } from '@keyway/queue';
import type { WorkerDeps } from './deps';
import { recheckInvalidKeys } from './recheck';
import { validateGroupKeys } from './validate-group';

/** How often the re-check job looks for due groups; each group's own interval decides whether it is checked. */
export const DEFAULT_RECHECK_EVERY_MS = 5 * 60_000;

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Period of the scheduled `key-recheck` job (default 5 min). */
  recheckEveryMs?: number;
  /** `key-validate` jobs run at once (default 2; each has its own per-group request bound). */
  validateConcurrency?: number;
}

/** Registers the worker's processors on `queue` and schedules the periodic key re-check. */
export function createWorker(deps: WorkerDeps & { queue: JobQueue }, options: WorkerOptions = {}): void {
  const { queue } = deps;
  queue.process(JOBS.keyRecheck, (job) => recheckInvalidKeys(deps, job.payload));
  queue.process(
    JOBS.keyValidate,
    (job) => validateGroupKeys(deps, job.payload, (processed, total) => job.progress(processed, total)),
    { concurrency: options.validateConcurrency ?? 2 },
  );
  queue.schedule(JOBS.keyRecheck, options.recheckEveryMs ?? DEFAULT_RECHECK_EVERY_MS, {});
}
