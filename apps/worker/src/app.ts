import type { DeliveryOptions } from '@keyway/alerts';
import { createAlertEmitter } from '@keyway/alerts';
import { applyUsageBatch, runRetention, writeRequestLogs } from '@keyway/db';
import type { JobName, JobQueue } from '@keyway/queue';
import { JOB_NAMES, JOBS } from '@keyway/queue';
import { alertBudgetCrossings, announceLongTask, createAlertProcessor } from './alerts';
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
  /** Key imports and validations running at least this long raise `task.finished` (default 60 s). */
  longTaskMs?: number;
  /** How `alert` jobs deliver (timeouts, attempts, backoff). */
  alertDelivery?: DeliveryOptions;
}

/** A key import or validation this long is worth an alert when it ends. */
export const DEFAULT_LONG_TASK_MS = 60_000;

/**
 * Registers the worker's processors on `queue` and schedules the periodic ones (key re-check, retention):
 * - `key-recheck`: re-validates invalid keys of groups whose re-check interval elapsed (scheduled);
 * - `key-validate`: validates one group's keys, with progress;
 * - `key-import`: adds sealed keys to a group and the key pool, with progress;
 * - `request-logs`: writes a gateway's batch of request logs, idempotently;
 * - `usage-batch`: applies a gateway's usage batch (hourly stats, key and access-key use) once by its id;
 * - `key-events`: persists key health changes, the latest per key winning;
 * - `key-test`: one validation request with one key for the control plane, its health updated;
 * - `log-retention`: deletes what is past its retention (scheduled);
 * - `alert`: de-duplicates one alert and delivers it to the channels subscribed to its event.
 * The worker's own alerts (keys invalidated or restored, budgets, long tasks) go to `deps.alerts`, by default
 * `alert` jobs on `queue`.
 */
export function createWorker(input: WorkerDeps & { queue: JobQueue }, options: WorkerOptions = {}): void {
  const { queue } = input;
  const alerts =
    input.alerts ?? createAlertEmitter({ send: (p) => queue.enqueue(JOBS.alert, p), logger: input.logger });
  const deps = { ...input, alerts };
  const now = deps.now ?? Date.now;
  const longTask = (taskId: string, type: string, groupId: number) => ({
    alerts,
    longTaskMs: options.longTaskMs ?? DEFAULT_LONG_TASK_MS,
    now,
    taskId,
    type,
    groupId,
  });
  const jobs = new Set<JobName>(options.jobs ?? JOB_NAMES);
  if (jobs.has(JOBS.keyRecheck)) {
    queue.process(JOBS.keyRecheck, (job) => recheckInvalidKeys(deps, job.payload));
    queue.schedule(JOBS.keyRecheck, options.recheckEveryMs ?? DEFAULT_RECHECK_EVERY_MS, {});
  }
  if (jobs.has(JOBS.keyValidate))
    queue.process(
      JOBS.keyValidate,
      (job) =>
        announceLongTask(
          {
            ...longTask(job.id, 'key-validate', job.payload.groupId),
            describe: (r) => `${r.checked} checked, ${r.valid} valid, ${r.invalidated} invalidated`,
          },
          () => validateGroupKeys(deps, job.payload, (processed, total) => job.progress(processed, total)),
        ),
      { concurrency: options.validateConcurrency ?? 2 },
    );
  if (jobs.has(JOBS.keyImport))
    queue.process(JOBS.keyImport, (job) =>
      announceLongTask(
        {
          ...longTask(job.id, 'key-import', job.payload.groupId),
          describe: (r) => `${r.added} added, ${r.ignored} already present`,
        },
        () => importKeys(deps, job.payload, (processed, total) => job.progress(processed, total)),
      ),
    );
  if (jobs.has(JOBS.requestLogs)) {
    const write = deps.writeRequestLogs ?? ((records) => writeRequestLogs(deps.db, records));
    queue.process(JOBS.requestLogs, (job) => write(job.payload.records));
  }
  if (jobs.has(JOBS.usageBatch))
    queue.process(JOBS.usageBatch, async (job) => {
      const applied = await applyUsageBatch(deps.db, job.payload.batch, deps.dbProvider);
      // A batch applied before (a retried job) crossed nothing new.
      if (applied) await alertBudgetCrossings(deps, job.payload.batch);
      return applied;
    });
  if (jobs.has(JOBS.keyEvents)) {
    const persist = createKeyEventsProcessor(deps, options.keyEvents);
    // One at a time: the processor remembers what it wrote, and must see each job's writes before the next.
    queue.process(JOBS.keyEvents, (job) => persist(job.payload), { concurrency: 1 });
  }
  // Several at once: an operator clicking "test" on a few keys should not wait for each in turn.
  if (jobs.has(JOBS.keyTest))
    queue.process(JOBS.keyTest, (job) => testKey(deps, job.payload), { concurrency: 4 });
  if (jobs.has(JOBS.alert)) {
    const dispatch = createAlertProcessor(deps, options.alertDelivery);
    // A few at once: one slow chat platform (retrying with backoff) must not hold up every other alert.
    queue.process(JOBS.alert, (job) => dispatch(job.payload), { concurrency: 4 });
  }
  if (jobs.has(JOBS.logRetention)) {
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
