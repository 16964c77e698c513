// Test-only: waiting for jobs on a queue.
import type { JobQueue, TaskStatus } from '@keyway/queue';

/** The job's status once it succeeded or failed for good (polls; throws after about 5 s). */
export async function finished(queue: JobQueue, id: string): Promise<TaskStatus> {
  for (let i = 0; i < 500; i++) {
    const s = await queue.status(id);
    if (s && (s.state === 'succeeded' || s.state === 'failed')) return s;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} did not finish`);
}
