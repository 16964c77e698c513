import { logRowText, type RequestLogRecord } from '@keyway/contracts';

/** Where finished records go. `push` must never block or throw: logging cannot fail a request. */
export interface Sink<T> {
  push(record: T): void;
  /** Writes whatever is buffered (on shutdown). */
  flush(): Promise<void>;
}

/** Where finished request records go. */
export type RequestLogSink = Sink<RequestLogRecord>;

/** Writes batches somewhere slow (a database, a queue). */
export type BatchWriter<T = RequestLogRecord> = (records: T[]) => Promise<void>;

export interface BufferedSinkOptions<T = RequestLogRecord> {
  write: BatchWriter<T>;
  /** Flush at this many records… */
  maxBatch?: number;
  /**
   * A record's size in any unit, and the most a batch may hold of it (a single larger record still goes, alone):
   * a batch is cut at whichever of `maxBatch` and this comes first.
   */
  sizeOf?: (record: T) => number;
  maxBatchSize?: number;
  /** …or after this long. */
  intervalMs?: number;
  /** Records kept at most while the writer is failing; the oldest are dropped beyond it (and counted). */
  maxBuffered?: number;
  onError?: (error: unknown, pending: number) => void;
  onDrop?: (count: number) => void;
}

/**
 * Buffers records and writes them in batches off the request path (≤ intervalMs or maxBatch records). A failed
 * write keeps the batch and retries on the next tick, so a short database outage loses nothing.
 */
export function createBufferedSink<T = RequestLogRecord>(
  o: BufferedSinkOptions<T>,
): Sink<T> & { pending(): number } {
  const maxBatch = o.maxBatch ?? 500;
  const intervalMs = o.intervalMs ?? 1000;
  const maxBuffered = o.maxBuffered ?? 100_000;
  const { sizeOf } = o;
  const maxBatchSize = o.maxBatchSize ?? Number.POSITIVE_INFINITY;
  let buffer: T[] = [];
  /** With sizeOf: each buffered record's size (weighed once, on push), and their sum. */
  let sizes: number[] = [];
  let bufferedSize = 0;
  /** Drops the oldest `count` records from the buffer. */
  const shift = (count: number): void => {
    if (sizeOf) {
      for (let i = 0; i < count && i < sizes.length; i++) bufferedSize -= sizes[i]!;
      sizes = sizes.slice(count);
    }
    buffer = buffer.slice(count);
  };
  /**
   * A whole batch is waiting, by count or by size. A batch full by size goes at once rather than when `maxBatch`
   * records are in: records that wait outlive V8's young-generation collections (a scavenge every few hundred
   * requests under load) and are copied by each. The distributed gateway's log jobs (~230 bench rows by size,
   * `maxBatch` 500): bytes copied by scavenges 2.4 → 1.9 KB per request (`--trace-gc-nvp`, lab runs under load).
   */
  const full = (): boolean => buffer.length >= maxBatch || bufferedSize >= maxBatchSize;
  /** The next batch: the oldest records, up to maxBatch of them and (with sizeOf) maxBatchSize in all. */
  const nextBatch = (): T[] => {
    if (!sizeOf) return buffer.slice(0, maxBatch);
    const most = Math.min(maxBatch, buffer.length);
    let n = 0;
    for (let size = 0; n < most; n++) {
      size += sizes[n]!;
      if (n > 0 && size > maxBatchSize) break;
    }
    return buffer.slice(0, n);
  };
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;

  const schedule = () => {
    if (timer || writing) return;
    timer = setTimeout(() => {
      timer = null;
      void drain(true);
    }, intervalMs);
    timer.unref();
  };

  // Records dropped (oldest first) while a batch was being written: they were part of that batch.
  let droppedWhileWriting = 0;
  // After a failed write only the timer retries: pushes during an outage do not hammer the writer.
  let failing = false;

  /**
   * Writes full batches; with `all`, also what was buffered when it started (the interval is up, or shutdown).
   * Under load this keeps batches full instead of sending each record that arrived during the previous write
   * on its own: per-batch costs (a queue job, a transaction) dwarf per-record ones.
   */
  const drain = async (all: boolean): Promise<void> => {
    if (writing) return writing;
    writing = (async () => {
      let owed = all ? buffer.length : 0;
      while (full() || (owed > 0 && buffer.length > 0)) {
        const batch = nextBatch();
        droppedWhileWriting = 0;
        try {
          await o.write(batch);
          shift(Math.max(0, batch.length - droppedWhileWriting));
          owed -= batch.length;
          failing = false;
        } catch (error) {
          failing = true;
          o.onError?.(error, buffer.length);
          return;
        }
      }
    })().finally(() => {
      writing = null;
      if (buffer.length > 0) schedule();
    });
    return writing;
  };

  return {
    push(record) {
      buffer.push(record);
      if (sizeOf) {
        const size = sizeOf(record);
        sizes.push(size);
        bufferedSize += size;
      }
      if (buffer.length > maxBuffered) {
        const drop = buffer.length - maxBuffered;
        shift(drop);
        if (writing) droppedWhileWriting += drop;
        o.onDrop?.(drop);
      }
      if (full() && !writing && !failing) {
        if (timer) clearTimeout(timer);
        timer = null;
        void drain(false);
      } else schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      await drain(true);
      if (buffer.length > 0) await drain(true);
    },
    pending: () => buffer.length,
  };
}

/**
 * A request-log sink that makes each record into its row's JSON text as it is pushed ({@link logRowText}) and
 * buffers those texts: what waits for the batch is one flat string per request, and the record dies young.
 */
export function createRowTextSink(o: BufferedSinkOptions<string>): RequestLogSink & { pending(): number } {
  const rows = createBufferedSink<string>(o);
  return { ...rows, push: (record) => rows.push(logRowText(record)) };
}
