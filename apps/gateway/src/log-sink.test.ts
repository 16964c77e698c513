import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBufferedSink, type BufferedSinkOptions } from './log-sink';

/** A writer whose calls finish when the test says so. */
function controlledWriter() {
  const batches: number[][] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const write = (records: number[]) => {
    batches.push([...records]);
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return {
    write,
    batches,
    finish: async () => {
      pending.shift()?.resolve();
      await vi.advanceTimersByTimeAsync(0);
    },
    fail: async () => {
      pending.shift()?.reject(new Error('queue down'));
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

/** A sink of numbers weighed by their value: a batch holds 10 at most, and 500 records would take long. */
function weighedSink(o: BufferedSinkOptions<number>) {
  return createBufferedSink<number>({ maxBatch: 500, sizeOf: (n) => n, maxBatchSize: 10, ...o });
}

describe('the buffered sink', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes a full batch at once and a partial one when the interval is up', async () => {
    const w = controlledWriter();
    const sink = createBufferedSink<number>({ write: w.write, maxBatch: 3, intervalMs: 1000 });
    sink.push(1);
    sink.push(2);
    expect(w.batches).toEqual([]);
    sink.push(3);
    expect(w.batches).toEqual([[1, 2, 3]]);
    await w.finish();
    sink.push(4);
    await vi.advanceTimersByTimeAsync(999);
    expect(w.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.batches).toEqual([[1, 2, 3], [4]]);
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('keeps records that arrive during a write for a full batch instead of sending them one by one', async () => {
    const w = controlledWriter();
    const sink = createBufferedSink<number>({ write: w.write, maxBatch: 3, intervalMs: 1000 });
    for (const n of [1, 2, 3]) sink.push(n);
    sink.push(4); // arrives while [1, 2, 3] is being written
    await w.finish();
    expect(w.batches).toEqual([[1, 2, 3]]);
    for (const n of [5, 6, 7]) sink.push(n);
    // a full batch is waiting now, and 7 after it
    expect(w.batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    await w.finish();
    expect(sink.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.batches.at(-1)).toEqual([7]);
    await w.finish();
  });

  it('keeps a batch whose write failed and writes it, in order, on the next tick', async () => {
    const w = controlledWriter();
    const onError = vi.fn();
    const sink = createBufferedSink<number>({ write: w.write, maxBatch: 2, intervalMs: 500, onError });
    sink.push(1);
    sink.push(2);
    await w.fail();
    expect(onError).toHaveBeenCalledWith(expect.any(Error), 2);
    sink.push(3); // a full batch again, but after a failure only the timer retries
    expect(w.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(w.batches).toEqual([
      [1, 2],
      [1, 2],
    ]);
    await w.finish();
    expect(w.batches.at(-1)).toEqual([3]);
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('drops the oldest beyond its bound, and a drop during a write loses none of the unwritten', async () => {
    const w = controlledWriter();
    const onDrop = vi.fn();
    const sink = createBufferedSink<number>({
      write: w.write,
      maxBatch: 2,
      maxBuffered: 3,
      intervalMs: 1000,
      onDrop,
    });
    sink.push(1);
    sink.push(2); // [1, 2] is being written
    sink.push(3);
    sink.push(4); // over the bound: 1 is dropped (it is in the batch being written)
    expect(onDrop).toHaveBeenCalledWith(1);
    await w.finish();
    // 2 was written; 3 and 4 were not, and are still there
    expect(w.batches[1]).toEqual([3, 4]);
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('writes everything on flush', async () => {
    const written: number[][] = [];
    const sink = createBufferedSink<number>({
      write: (r) => {
        written.push([...r]);
        return Promise.resolve();
      },
      maxBatch: 2,
      intervalMs: 60_000,
    });
    for (const n of [1, 2, 3, 4, 5]) sink.push(n);
    await sink.flush();
    expect(written.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(sink.pending()).toBe(0);
  });

  it('cuts a batch at maxBatchSize (records weighed by sizeOf), sending a larger record alone', async () => {
    const written: number[][] = [];
    const sink = createBufferedSink<number>({
      write: (r) => {
        written.push([...r]);
        return Promise.resolve();
      },
      maxBatch: 4,
      sizeOf: (n) => n,
      maxBatchSize: 10,
      intervalMs: 60_000,
    });
    // A full count triggers the write; the batch holds what fits in the size, the rest waits for the next.
    for (const n of [3, 3, 3, 3]) sink.push(n);
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([[3, 3, 3]]);
    for (const n of [25, 1, 1]) sink.push(n);
    await sink.flush();
    expect(written).toEqual([[3, 3, 3], [3], [25], [1, 1]]);
    expect(sink.pending()).toBe(0);
  });

  it('writes a batch that is full by size at once, without waiting for maxBatch records or the interval', async () => {
    const w = controlledWriter();
    const sink = weighedSink({ write: w.write, intervalMs: 60_000 });
    sink.push(4);
    sink.push(4);
    expect(w.batches).toEqual([]);
    sink.push(4);
    expect(w.batches).toEqual([[4, 4]]);
    // What is left (4) is not a full batch: it waits for the interval.
    await w.finish();
    expect(w.batches).toEqual([[4, 4]]);
    expect(sink.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(w.batches).toEqual([[4, 4], [4]]);
  });

  it('keeps the buffered size right when records are dropped during an outage', async () => {
    const w = controlledWriter();
    const drops: number[] = [];
    const sink = weighedSink({
      write: w.write,
      maxBuffered: 2,
      intervalMs: 1000,
      onDrop: (n) => drops.push(n),
    });
    sink.push(6);
    sink.push(6); // full by size: written, and the writer fails
    expect(w.batches).toEqual([[6]]);
    await w.fail();
    // While failing, only the timer retries; the oldest are dropped beyond two records.
    for (const n of [1, 1, 1]) sink.push(n);
    expect(drops).toEqual([1, 1, 1]);
    expect(sink.pending()).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.batches.at(-1)).toEqual([1, 1]);
    await w.finish();
    expect(sink.pending()).toBe(0);
    // Had the dropped records' sizes stayed counted, 9 more would already make a batch.
    sink.push(9);
    expect(w.batches.at(-1)).toEqual([1, 1]);
    sink.push(2);
    expect(w.batches.at(-1)).toEqual([9]);
  });
});
