import { applyUsageBatch, runRetention, writeRequestLogs } from '@keyway/db';
import type { JobName, JobQueue } from '@keyway/queue';
import { JOB_NAMES, JOBS } from '@keyway/queue';
import type { WorkerDeps } from './deps';
import { importKeys } from './import-keys';
import type { KeyEventsOptions } from './key-events';
import { createKeyEventsProcessor } from './key-events';
import { recheckInvalidKeys } from './recheck';
import { testKey } from './test-key';
import { validateGroupKeys } from './validate-group';

/** How often the re-check job looks for due groups; each group's own interval decides whether it is checked. */
export const DEFAULT_RECHECK_EVERY_MS = 5 * 60_000;
/** How often the retention job deletes expired request logs, hourly stats and audit entries. */
export const DEFAULT_RETENTION_EVERY_MS = 2 * 60 * 60_000;

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /**
   * Jobs this process runs (default: every job). Standalone leaves out `request-logs`, `usage-batch` and
   * `key-events`: it writes logs, usage and key states straight to its database.
   */
  jobs?: readonly JobName[];
  /** Period of the scheduled `key-recheck` job (default 5 min). */
  recheckEveryMs?: number;
  /** Period of the scheduled `log-retention` job (default 2 h). */
  retentionEveryMs?: number;
  /** `key-validate` jobs run at once (default 2; each has its own per-group request bound). */
  validateConcurrency?: number;
  /** Options of the `key-events` processor. */
  keyEvents?: KeyEventsOptions;
}

/**
 * Registers the worker's processors on `queue` and schedules the periodic ones (key re-check, retention):
 * - `key-recheck`: re-validates invalid keys of groups whose re-check interval elapsed (scheduled);
 * - `key-validate`: validates one group's keys, with progress;
 * - `key-import`: adds sealed keys to a group and the key pool, with progress;
 * - `request-logs`: writes a gateway's batch of request logs, idempotently;
 * - `usage-batch`: applies a gateway's usage batch (hourly stats, key and access-key use) once by its id;
 * - `key-events`: persists key health changes, the latest per key winning;
 * - `key-test`: one validation request with one key for the control plane, its health updated;
 * - `log-retention`: deletes what is past its retention (scheduled).
 */
export function createWorker(deps: WorkerDeps & { queue: JobQueue }, options: WorkerOptions = {}): void {
  const { queue } = deps;
  const jobs = new Set<JobName>(options.jobs ?? JOB_NAMES);
  if (jobs.has(JOBS.keyRecheck)) {
    queue.process(JOBS.keyRecheck, (job) => recheckInvalidKeys(deps, job.payload));
    queue.schedule(JOBS.keyRecheck, options.recheckEveryMs ?? DEFAULT_RECHECK_EVERY_MS, {});
  }
  if (jobs.has(JOBS.keyValidate))
    queue.process(
      JOBS.keyValidate,
      (job) => validateGroupKeys(deps, job.payload, (processed, total) => job.progress(processed, total)),
      { concurrency: options.validateConcurrency ?? 2 },
    );
  if (jobs.has(JOBS.keyImport))
    queue.process(JOBS.keyImport, (job) =>
      importKeys(deps, job.payload, (processed, total) => job.progress(processed, total)),
    );
  if (jobs.has(JOBS.requestLogs)) {
    const write = deps.writeRequestLogs ?? ((records) => writeRequestLogs(deps.db, records));
    queue.process(JOBS.requestLogs, (job) => write(job.payload.records));
  }
  if (jobs.has(JOBS.usageBatch))
    queue.process(JOBS.usageBatch, (job) => applyUsageBatch(deps.db, job.payload.batch));
  if (jobs.has(JOBS.keyEvents)) {
    const persist = createKeyEventsProcessor(deps, options.keyEvents);
    // One at a time: the processor remembers what it wrote, and must see each job's writes before the next.
    queue.process(JOBS.keyEvents, (job) => persist(job.payload), { concurrency: 1 });
  }
  // Several at once: an operator clicking "test" on a few keys should not wait for each in turn.
  if (jobs.has(JOBS.keyTest))
    queue.process(JOBS.keyTest, (job) => testKey(deps, job.payload), { concurrency: 4 });
  if (jobs.has(JOBS.logRetention)) {
    const now = deps.now ?? Date.now;
    queue.process(JOBS.logRetention, (job) =>
      runRetention(deps.db, {
        now: new Date(now()),
        retentionDays: job.payload.retentionDays,
        sqliteWriter: deps.sqliteWriter,
      }),
    );
    queue.schedule(JOBS.logRetention, options.retentionEveryMs ?? DEFAULT_RETENTION_EVERY_MS, {});
  }
}
