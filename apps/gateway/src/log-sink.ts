import type { RequestLogRecord } from '@keyway/contracts';

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
  let buffer: T[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;

  const schedule = () => {
    if (timer || writing) return;
    timer = setTimeout(() => {
      timer = null;
      void drain();
    }, intervalMs);
    timer.unref();
  };

  const drain = async (): Promise<void> => {
    if (writing) return writing;
    writing = (async () => {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, maxBatch);
        try {
          await o.write(batch);
          buffer = buffer.slice(batch.length);
        } catch (error) {
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
      if (buffer.length > maxBuffered) {
        const drop = buffer.length - maxBuffered;
        buffer = buffer.slice(drop);
        o.onDrop?.(drop);
      }
      if (buffer.length >= maxBatch && !writing) {
        if (timer) clearTimeout(timer);
        timer = null;
        void drain();
      } else schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      await drain();
      if (buffer.length > 0) await drain();
    },
    pending: () => buffer.length,
  };
}
