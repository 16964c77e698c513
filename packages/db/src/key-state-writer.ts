import type { LogPort } from '@keyway/core';
import type { DbClient } from './client';
import { writeKeyStates, type KeyStateRow } from './repositories/key-state';

/** Buffers key health changes and writes the latest of each key in batches. */
export interface KeyStateWriter {
  /** Queues a change (the latest per key is kept); never blocks. */
  push(state: KeyStateRow): void;
  /** Writes what is queued; a caller that awaits it also waits for a write already under way. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

/**
 * Key health changes happen on the hot path in memory; the database copy follows every `intervalMs` (1 s). A
 * failed write keeps the changes (newer ones for the same key win) and retries on the next tick.
 */
export function createKeyStateWriter(
  db: DbClient,
  logger: Pick<LogPort, 'warn'>,
  options: { intervalMs?: number } = {},
): KeyStateWriter {
  const pending = new Map<number, KeyStateRow>();
  let writes: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    writes = writes.then(async () => {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending.clear();
      try {
        await writeKeyStates(db, batch);
      } catch (err) {
        for (const s of batch) if (!pending.has(s.keyId)) pending.set(s.keyId, s);
        logger.warn({ err, pending: pending.size }, 'could not persist key states; retrying');
      }
    });
    return writes;
  };
  const timer = setInterval(() => void flush(), options.intervalMs ?? 1000);
  timer.unref();
  return {
    push(state) {
      const seen = pending.get(state.keyId);
      if (!seen || (state.at ?? 0) >= (seen.at ?? 0)) pending.set(state.keyId, state);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
