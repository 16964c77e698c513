// Cooperative time slicing for bulk work that shares a process with the gateway.
//
// A Node process serves every request from one thread: a loop that hashes, seals or writes 100,000 keys in one
// go holds every proxied request until it ends (an import once stalled standalone for ~8 s). Bulk loops here
// run in slices of a few milliseconds and give the event loop a turn between them, so requests, timers and
// socket I/O are served in between; the work takes a little longer, the gateway never waits long.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long a slice of bulk work may hold the event loop: well under the 50 ms a caller may notice. */
export const SLICE_MS = 5;

/**
 * Lets the event loop run pending I/O (incoming requests, socket writes) and timers before going on.
 * `setImmediate` runs after the I/O phase; resolving a promise would not (microtasks run before any I/O).
 */
export function yieldToLoop(): Promise<void> {
  return nextTurn();
}

/** Tells a bulk loop when its slice is used up. */
export interface Pacer {
  /** True when the current slice has run for `budgetMs`: the loop should `await pacer.pause()`. */
  due(): boolean;
  /** Yields to the event loop and starts a new slice. */
  pause(): Promise<void>;
}

/** A pacer with slices of `budgetMs` (default {@link SLICE_MS}). */
export function createPacer(budgetMs = SLICE_MS): Pacer {
  let started = performance.now();
  return {
    due: () => performance.now() - started >= budgetMs,
    async pause() {
      await yieldToLoop();
      started = performance.now();
    },
  };
}

/** `items.map(fn)` in slices that yield to the event loop; for CPU work per item (hashing, sealing, opening). */
export async function mapSliced<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => R,
  pacer: Pacer = createPacer(),
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i] as T, i);
    if (pacer.due()) await pacer.pause();
  }
  return out;
}

/**
 * A batch size that adapts so one batch (a transaction, a statement) takes about `targetMs`: `record(rows, ms)`
 * after each batch updates a moving average of the cost per row, and the next size is the target divided by it,
 * within [min, max] and at most twice the previous size. Row costs differ by table, indexes, row width and disk,
 * so a fixed size is either slow or stalls somewhere; the average keeps one preempted batch from halving the
 * next ones on a busy machine.
 */
export function adaptiveBatch(
  options: { initial?: number; min?: number; max?: number; targetMs?: number } = {},
): { size(): number; record(rows: number, ms: number): void } {
  const min = options.min ?? 10;
  const max = options.max ?? 5000;
  const targetMs = options.targetMs ?? SLICE_MS - 1;
  let size = options.initial ?? 100;
  let perRow: number | null = null;
  return {
    size: () => size,
    record(rows, ms) {
      if (rows === 0) return;
      const sample = Math.max(ms, 0.01) / rows;
      perRow = perRow === null ? sample : 0.7 * perRow + 0.3 * sample;
      size = Math.round(Math.min(max, Math.max(min, Math.min(size * 2, targetMs / perRow))));
    },
  };
}
