import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logRowText, logRowsSchema } from '@keyway/contracts';
import type { RequestLogRecord } from '@keyway/contracts';
import {
  createBufferedSink,
  createRowBatchSink,
  rowBatchJsonPieces,
  type BufferedSinkOptions,
  type RowBatch,
  type RowBatchSinkOptions,
} from './log-sink';
import { record as baseRecord } from './testing/records';

/** A writer whose calls finish when the test says so; `read` takes what a call was given, when it is made. */
function controlledWriter<T = number[], R = number[]>(
  read: (given: T) => R = (r) => [...(r as number[])] as R,
) {
  const batches: R[] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const write = (given: T) => {
    batches.push(read(given));
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

/** A record numbered `n` with a mask and attempts in it (their texts are what rows encode specially). */
const record = (n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord =>
  baseRecord(n, {
    keyMasked: 'sk-t…0001',
    attempts: [
      {
        keyId: 11,
        key: 'sk-t…0001',
        upstreamUrl: 'http://u',
        statusCode: 200,
        class: 'ok',
        durationMs: 9,
        error: null,
      },
    ],
    ...over,
  });

/**
 * A batch's records, read as the worker reads a job's JSON and as the SQLite writer's thread reads each chunk (both
 * must agree); the sink reuses the bytes once the write is done, so this runs when the write is called.
 */
function recordsOf(batch: RowBatch): RequestLogRecord[] {
  const job = JSON.parse(rowBatchJsonPieces(batch).map(String).join('')) as { columns: string[] };
  const records = logRowsSchema.parse(job);
  const rows = batch.chunks.flatMap((c) => JSON.parse(c.toString('utf8')) as unknown[]);
  expect(logRowsSchema.parse({ columns: job.columns, rows })).toEqual(records);
  return records;
}

/** A row-batch writer whose calls finish when the test says so; it reads each batch's records when called. */
const controlledRowWriter = () =>
  controlledWriter((batch: RowBatch) => {
    const records = recordsOf(batch);
    expect(records).toHaveLength(batch.rows);
    return records.map((r) => r.id);
  });

const ids = (...ns: number[]) => ns.map((n) => `id-${n}`);

describe('the row batch sink', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const sinkOf = (o: RowBatchSinkOptions) => createRowBatchSink({ intervalMs: 1000, ...o });

  it('writes a full batch at once and a partial one when the interval is up, as the records', async () => {
    const w = controlledRowWriter();
    const sink = sinkOf({ write: w.write, maxRows: 3 });
    sink.push(record(1));
    sink.push(record(2));
    expect(w.batches).toEqual([]);
    sink.push(record(3));
    expect(w.batches).toEqual([ids(1, 2, 3)]);
    sink.push(record(4)); // arrives while [1, 2, 3] is being written
    await w.finish();
    expect(w.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.batches).toEqual([ids(1, 2, 3), ids(4)]);
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('keeps every value of a row exactly: quotes, backslashes, line breaks, control and non-ASCII characters', async () => {
    const odd = '\u0001x…y\u0001\r\n "q" \\ – ✓ 😀';
    const written: RequestLogRecord[][] = [];
    const sink = sinkOf({
      maxRows: 4,
      write: (batch) => {
        written.push(recordsOf(batch));
        return Promise.resolve();
      },
    });
    const records = [
      record(1, { model: odd, error: odd, requestPath: `/v1/${odd}` }),
      record(2, { groupName: odd, requestBody: odd.repeat(50) }),
      record(3),
    ];
    for (const r of records) sink.push(r);
    await sink.flush();
    expect(written).toEqual([records]);
  });

  it('cuts a batch at maxChars of row text, sending a longer row alone, and grows for a row past its memory', async () => {
    const written: string[][] = [];
    const sink = sinkOf({
      maxRows: 500,
      maxChars: 5000,
      write: (batch) => {
        const records = recordsOf(batch);
        written.push(records.map((r) => r.id));
        return Promise.resolve();
      },
    });
    // Rows of two-digit numbers: all the same length.
    const perBatch = Math.floor(5000 / logRowText(record(10)).length);
    for (let i = 10; i <= 10 + perBatch; i++) sink.push(record(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual([Array.from({ length: perBatch }, (_, i) => `id-${10 + i}`)]);
    // A row of ~1.5 MB of three-byte characters: more than a chunk holds, alone in its batch.
    sink.push(record(98, { requestBody: '✓'.repeat(500_000) }));
    sink.push(record(99));
    await sink.flush();
    expect(written.slice(1)).toEqual([ids(10 + perBatch), ids(98), ids(99)]);
  });

  it('keeps a batch whose write failed and writes it, in order, on the next tick', async () => {
    const w = controlledRowWriter();
    const onError = vi.fn();
    const sink = sinkOf({ write: w.write, maxRows: 2, intervalMs: 500, onError });
    sink.push(record(1));
    sink.push(record(2));
    await w.fail();
    expect(onError).toHaveBeenCalledWith(expect.any(Error), 2);
    sink.push(record(3));
    sink.push(record(4)); // a full batch again, but after a failure only the timer retries
    expect(w.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(w.batches).toEqual([ids(1, 2), ids(1, 2)]);
    await w.finish();
    expect(w.batches.at(-1)).toEqual(ids(3, 4));
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('drops the oldest batches beyond its bound, never the one being written', async () => {
    const w = controlledRowWriter();
    const onDrop = vi.fn();
    const sink = sinkOf({ write: w.write, maxRows: 2, maxBuffered: 6, onDrop });
    for (const n of [1, 2]) sink.push(record(n)); // [1, 2] is being written
    for (const n of [3, 4, 5, 6]) sink.push(record(n));
    expect(onDrop).not.toHaveBeenCalled();
    sink.push(record(7)); // 7 rows wait: [3, 4] goes, [1, 2] (in flight) stays
    expect(onDrop).toHaveBeenCalledWith(2);
    expect(sink.pending()).toBe(5);
    await w.finish();
    expect(w.batches).toEqual([ids(1, 2), ids(5, 6)]);
    await w.finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.batches.at(-1)).toEqual(ids(7));
    await w.finish();
    expect(sink.pending()).toBe(0);
  });

  it('reuses the memory of written batches without mixing their rows, a batch in several chunks', async () => {
    const w = controlledRowWriter();
    const chunks: number[] = [];
    const sink = sinkOf({
      write: (batch) => {
        chunks.push(batch.chunks.length);
        return w.write(batch);
      },
      maxRows: 3,
      // Two of the first round's rows fit a chunk; the later rounds' longer ones, one.
      chunkBytes: 2 * Buffer.byteLength(logRowText(record(0))) + 20,
    });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) sink.push(record(round * 10 + i, { requestBody: 'x'.repeat(round * 40) }));
      await w.finish();
    }
    expect(w.batches).toEqual([0, 1, 2, 3, 4].map((r) => ids(r * 10, r * 10 + 1, r * 10 + 2)));
    expect(chunks[0]).toBe(2);
    expect(chunks.at(-1)).toBe(3);
  });

  it('writes everything on flush', async () => {
    const written: string[] = [];
    const sink = sinkOf({
      maxRows: 2,
      intervalMs: 60_000,
      write: (batch) => {
        written.push(...recordsOf(batch).map((r) => r.id));
        return Promise.resolve();
      },
    });
    for (const n of [1, 2, 3, 4, 5]) sink.push(record(n));
    await sink.flush();
    expect(written).toEqual(ids(1, 2, 3, 4, 5));
    expect(sink.pending()).toBe(0);
  });
});
