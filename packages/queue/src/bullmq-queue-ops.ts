// The reads and writes of one BullMQ queue that need more than one Redis call.
import type { Queue } from 'bullmq';
import { isFutureTick, taskStateOf, toTaskStatus } from './bullmq-jobs';
import type { ListGroup, StoredJob } from './bullmq-jobs';
import type { JobName } from './names';
import type { TaskStatus } from './port';

/** Adds a job under a caller's id unless one with that id is still queued or running. */
export async function addUnlessPending(
  queue: Queue,
  name: JobName,
  data: unknown,
  jobId: string,
  delay: number,
): Promise<void> {
  // BullMQ ignores an id it still keeps, finished or not; the port runs a new job once the previous one
  // finished, so a finished one makes way. Two callers racing here still end up with a single job.
  const state = await queue.getJobState(jobId);
  if (state === 'completed' || state === 'failed') await queue.remove(jobId);
  await queue.add(name, data, { jobId, delay });
}

/** The status of job `id` in the queue of `name`; null when that queue does not hold it. */
export async function readStatus(queue: Queue, name: JobName, id: string): Promise<TaskStatus | null> {
  let job: StoredJob | undefined = await queue.getJob(id);
  if (!job) return null;
  const state = taskStateOf(await queue.getJobState(id));
  // A job that finished between the two reads would show as finished without its result or error.
  if ((state === 'succeeded' || state === 'failed') && !job.finishedOn) job = await queue.getJob(id);
  return job && state ? toTaskStatus(name, job, state) : null;
}

/** Up to `limit` of the newest jobs of each of `groups` in the queue of `name`. */
export async function readTasks(
  queue: Queue,
  name: JobName,
  groups: readonly ListGroup[],
  limit: number,
): Promise<TaskStatus[]> {
  const byId = new Map<string, TaskStatus>();
  // One group after the other, in the order a job goes through them: a job that moves on between two reads
  // is seen twice and kept in its later state.
  for (const group of groups) {
    const jobs: StoredJob[] = await queue.getJobs(group.types, 0, limit - 1);
    for (const job of jobs) {
      if (isFutureTick(job)) continue;
      const task = toTaskStatus(name, job, group.state);
      byId.delete(task.id);
      byId.set(task.id, task);
    }
  }
  return [...byId.values()];
}
