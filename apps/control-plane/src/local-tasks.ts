import { randomUUID } from 'node:crypto';
import type { TaskState } from '@keyway/queue';

/** Task types run by the control plane that received them, not by the job queue's workers. */
export type LocalTaskType = 'gpt-load-import';

/** A local task as `GET /api/tasks/{id}` shows it: the queue's task shape. */
export interface LocalTaskStatus {
  id: string;
  type: LocalTaskType;
  state: TaskState;
  processed: number;
  total: number;
  result: unknown;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Finished tasks are kept this long, like the queue keeps finished jobs. */
const KEEP_MS = 60 * 60_000;

/**
 * Tasks this process runs itself (a GPT-Load import reads a file uploaded to this replica, so no worker could run
 * it). In memory: the task ends with the process anyway, and the tasks route asks here before the queue.
 */
export class LocalTasks {
  private readonly tasks = new Map<string, LocalTaskStatus>();

  /** The running task of this type, if any. */
  running(type: LocalTaskType): LocalTaskStatus | undefined {
    return [...this.tasks.values()].find((t) => t.type === type && t.state === 'running');
  }

  /**
   * Starts `run` in the background and returns the task id at once. Its resolved value becomes the result; a
   * rejection's message (`describe`) the error — the caller makes sure it names no secret.
   */
  start(
    type: LocalTaskType,
    run: (progress: (processed: number, total: number) => void) => Promise<unknown>,
    describe: (err: unknown) => string,
  ): string {
    this.prune();
    const now = new Date().toISOString();
    const task: LocalTaskStatus = {
      id: `${type}:${randomUUID()}`,
      type,
      state: 'running',
      processed: 0,
      total: 0,
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    this.tasks.set(task.id, task);
    const touch = (): void => void (task.updatedAt = new Date().toISOString());
    void run((processed, total) => {
      task.processed = processed;
      task.total = total;
      touch();
    }).then(
      (result) => {
        task.state = 'succeeded';
        task.result = result;
        touch();
      },
      (err: unknown) => {
        task.state = 'failed';
        task.error = describe(err);
        touch();
      },
    );
    return task.id;
  }

  status(id: string): LocalTaskStatus | null {
    const t = this.tasks.get(id);
    return t ? { ...t } : null;
  }

  /** Known tasks, newest first; `active` keeps only running ones. */
  list(active = false): LocalTaskStatus[] {
    return [...this.tasks.values()]
      .filter((t) => !active || t.state === 'running')
      .reverse()
      .map((t) => ({ ...t }));
  }

  private prune(): void {
    const cutoff = Date.now() - KEEP_MS;
    for (const [id, t] of this.tasks)
      if (t.state !== 'running' && Date.parse(t.updatedAt) < cutoff) this.tasks.delete(id);
  }
}

const registries = new WeakMap<object, LocalTasks>();

/** The local task registry of one control plane (keyed by its deps, so `createApp` stays free of globals). */
export function localTasksOf(deps: object): LocalTasks {
  let r = registries.get(deps);
  if (!r) registries.set(deps, (r = new LocalTasks()));
  return r;
}
