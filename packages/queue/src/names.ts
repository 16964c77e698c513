// The one list of job names. Each name is also a queue of its own (BullMQ: one queue per name), so a slow
// import never holds up log writing.

/** Every job the control plane, the gateway and the worker exchange. */
export const JOB_NAMES = [
  'key-recheck',
  'key-validate',
  'key-import',
  'request-logs',
  'usage-batch',
  'log-retention',
  'key-events',
  'key-test',
  'alert',
] as const;

/** A job (and queue) name. */
export type JobName = (typeof JOB_NAMES)[number];

/** The job names by role, so call sites read `JOBS.keyRecheck` rather than repeating string literals. */
export const JOBS = {
  /** Scheduled: re-validates invalid keys of groups whose re-check interval elapsed. */
  keyRecheck: 'key-recheck',
  /** On demand: validates a group's keys, with progress. */
  keyValidate: 'key-validate',
  /** On demand: adds a large batch of keys to a group, with progress. */
  keyImport: 'key-import',
  /** From gateways: request-log records to write in batches. */
  requestLogs: 'request-logs',
  /** From gateways: usage counters of about a second (hourly stats, key and access-key use), applied once by id. */
  usageBatch: 'usage-batch',
  /** Scheduled: deletes request logs older than the retention. */
  logRetention: 'log-retention',
  /** From gateways: key health changes to persist. */
  keyEvents: 'key-events',
  /** On demand, awaited by the control plane: one validation request for one key, its health updated. */
  keyTest: 'key-test',
  /** From any producer (gateways, the worker, the control plane): one alert to de-duplicate and deliver. */
  alert: 'alert',
} as const satisfies Record<string, JobName>;

/** Whether a string is a known job name. */
export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}
