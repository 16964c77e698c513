import { AppError } from '@keyway/core';
import type { JobQueue } from '@keyway/queue';
import { JOBS, keyTestResultSchema } from '@keyway/queue';
import type { KeyTestResult } from './context';

const POLL_MS = 100;
/** Longer than the longest validation timeout a group can set, so the worker's own timeout answers first. */
const WAIT_MS = 130_000;

/**
 * `testKey` for a control plane that never calls providers itself (DESIGN §1): the test runs as a `key-test` job
 * on a worker (which reads and opens the key, sends the request and updates the key's health), and this waits
 * for its result. Only ids go through the queue, never the key.
 */
export function delegateKeyTest(
  queue: JobQueue,
): (key: { groupId: number; keyId: number }) => Promise<KeyTestResult> {
  return async ({ groupId, keyId }) => {
    const { id } = await queue.enqueue(JOBS.keyTest, { groupId, keyId });
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const status = await queue.status(id);
      if (status?.state === 'succeeded') return keyTestResultSchema.parse(status.result);
      if (status?.state === 'failed')
        throw new AppError(
          'UNAVAILABLE',
          `The key test failed on the worker: ${status.error ?? 'unknown error'}`,
        );
      if (Date.now() > deadline) throw new AppError('UNAVAILABLE', 'No worker answered the key test in time');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
}
