import type { Tracing } from '@keyway/observability';
import type { JobQueue } from '@keyway/queue';

/**
 * The queue with every handler run inside a span (`job {name}`: name, id and attempt; never the payload, which can
 * carry keys). Tracing off: the queue itself, untouched.
 */
export function traceJobs(queue: JobQueue, tracing: Tracing): JobQueue {
  if (!tracing.enabled) return queue;
  return {
    enqueue: (name, payload, opts) => queue.enqueue(name, payload, opts),
    process: (name, handler, opts) =>
      queue.process(
        name,
        (job) =>
          tracing.traced(
            `job ${name}`,
            { 'keyway.job.name': name, 'keyway.job.id': job.id, 'keyway.job.attempt': job.attempt },
            () => handler(job),
          ),
        opts,
      ),
    schedule: (name, everyMs, payload) => queue.schedule(name, everyMs, payload),
    status: (id) => queue.status(id),
    list: (opts) => queue.list(opts),
    close: () => queue.close(),
  };
}
