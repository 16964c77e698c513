import { LOG_ROWS_JSON_HEAD, LOG_ROWS_JSON_TAIL, logRowText, type RequestLogRecord } from '@keyway/contracts';

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
 * Rows of request logs as bytes: `chunks`, each a JSON array of rows' {@link logRowText} texts in UTF-8, in order,
 * and how many rows in all. The chunks are the sink's memory, reused once the write is done: a writer copies or
 * sends them before its promise settles and keeps no reference.
 */
export interface RowBatch {
  chunks: Buffer[];
  rows: number;
}

export interface RowBatchSinkOptions {
  write: (batch: RowBatch) => Promise<void>;
  /** Rows a batch holds at most… */
  maxRows?: number;
  /** …and characters of row text (a single longer row still goes, alone). */
  maxChars?: number;
  /** Bytes of a chunk (a row longer than that gets a chunk of its own). */
  chunkBytes?: number;
  /** A partial batch goes after this long. */
  intervalMs?: number;
  /** Rows kept at most while the writer is failing; the oldest batches are dropped beyond it (and counted). */
  maxBuffered?: number;
  onError?: (error: unknown, pending: number) => void;
  onDrop?: (count: number) => void;
}

/** A chunk being filled: rows from byte 1 on, comma-separated, after a `[`. */
interface Chunk {
  buf: Buffer;
  used: number;
  rows: number;
}

/** A batch being filled, or sealed (its chunks closed with a `]`). */
interface Filling {
  chunks: Chunk[];
  rows: number;
  chars: number;
}

/** Chunks of written batches kept for later ones (a batch and one in flight is the usual state). */
const SPARE_BYTES = 2 * 1024 * 1024;

/**
 * A request-log sink that writes each record's row text into its batch's bytes the moment the record is finished,
 * for writers that send bytes on (a queue job, the SQLite writer's thread). Nothing of a record waits on V8's
 * heap: rows kept as strings outlived its young-generation collections (a scavenge every few hundred requests
 * under load), each of which copied them, and many were promoted to the old generation, whose collections then
 * came sooner. Batches are cut, written, retried and dropped as {@link createBufferedSink} does with records; the
 * chunks of a written batch are reused for later ones.
 */
export function createRowBatchSink(o: RowBatchSinkOptions): RequestLogSink & { pending(): number } {
  const maxRows = o.maxRows ?? 500;
  const maxChars = o.maxChars ?? Number.POSITIVE_INFINITY;
  const chunkBytes = o.chunkBytes ?? 64 * 1024;
  const intervalMs = o.intervalMs ?? 1000;
  const maxBuffered = o.maxBuffered ?? 100_000;
  const spare: Buffer[] = [];
  let filling: Filling | null = null;
  /** Sealed batches, oldest first; the first is being written while `writing` is set. */
  const sealed: Filling[] = [];
  let sealedRows = 0;
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  // After a failed write only the timer retries: pushes during an outage do not hammer the writer.
  let failing = false;

  const openChunk = (bytes: number): Chunk => {
    const buf =
      bytes <= chunkBytes
        ? (spare.pop() ?? Buffer.allocUnsafeSlow(chunkBytes))
        : Buffer.allocUnsafeSlow(bytes);
    buf[0] = 0x5b; // [
    return { buf, used: 1, rows: 0 };
  };
  const seal = (): void => {
    const f = filling;
    if (f === null || f.rows === 0) return;
    for (const c of f.chunks) c.buf[c.used++] = 0x5d; // ]
    filling = null;
    sealed.push(f);
    sealedRows += f.rows;
  };
  const recycle = (f: Filling): void => {
    for (const c of f.chunks)
      if (c.buf.length === chunkBytes && spare.length * chunkBytes < SPARE_BYTES) spare.push(c.buf);
  };
  const pending = (): number => sealedRows + (filling?.rows ?? 0);

  const schedule = (): void => {
    if (timer || writing) return;
    timer = setTimeout(() => {
      timer = null;
      seal();
      void drain();
    }, intervalMs);
    timer.unref();
  };

  /** Writes the sealed batches, oldest first, until none is left or a write fails. */
  const drain = (): Promise<void> => {
    if (writing) return writing;
    writing = (async () => {
      for (let f = sealed[0]; f !== undefined; f = sealed[0]) {
        try {
          await o.write({ chunks: f.chunks.map((c) => c.buf.subarray(0, c.used)), rows: f.rows });
          failing = false;
        } catch (error) {
          failing = true;
          o.onError?.(error, pending());
          return;
        }
        sealed.shift();
        sealedRows -= f.rows;
        recycle(f);
      }
    })().finally(() => {
      writing = null;
      if (pending() > 0) schedule();
    });
    return writing;
  };

  /** Drops the oldest batches not being written while more than `maxBuffered` rows wait. */
  const bound = (): void => {
    let dropped = 0;
    const first = writing ? 1 : 0;
    while (pending() > maxBuffered && sealed.length > first) {
      const [f] = sealed.splice(first, 1);
      sealedRows -= f!.rows;
      dropped += f!.rows;
      recycle(f!);
    }
    if (dropped > 0) o.onDrop?.(dropped);
  };

  return {
    push(record) {
      const text = logRowText(record);
      if (filling !== null && filling.chars + text.length > maxChars) seal();
      const f = (filling ??= { chunks: [], rows: 0, chars: 0 });
      let c = f.chunks[f.chunks.length - 1];
      // UTF-8 takes at most three bytes per UTF-16 unit; then a comma and the closing bracket.
      let room = text.length * 3 + 2;
      if (room >= (c === undefined ? chunkBytes : c.buf.length - c.used)) room = Buffer.byteLength(text) + 2;
      if (c === undefined || c.buf.length - c.used < room) {
        c = openChunk(room + 1);
        f.chunks.push(c);
      }
      if (c.rows > 0) c.buf[c.used++] = 0x2c; // ,
      c.used += c.buf.write(text, c.used);
      c.rows++;
      f.rows++;
      f.chars += text.length;
      if (f.rows >= maxRows || f.chars >= maxChars) seal();
      if (pending() > maxBuffered) bound();
      if (sealed.length > 0 && !writing && !failing) {
        if (timer) clearTimeout(timer);
        timer = null;
        void drain();
      } else schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      seal();
      await drain();
      if (sealed.length > 0 && !failing) await drain();
    },
    pending,
  };
}

/**
 * A row batch as the JSON text of its {@link LogRows} (a `request-logs` job's payload), in pieces whose
 * concatenation is that text: the chunks' bytes between a head and a tail, never copied into one buffer or string.
 */
export function rowBatchJsonPieces(batch: RowBatch): (string | Buffer)[] {
  const { chunks } = batch;
  if (chunks.length === 1) return [LOG_ROWS_JSON_HEAD, chunks[0]!, LOG_ROWS_JSON_TAIL];
  // The chunks' arrays made one: each without its brackets, commas between them.
  const pieces: (string | Buffer)[] = [`${LOG_ROWS_JSON_HEAD}[`];
  chunks.forEach((c, i) => {
    if (i > 0) pieces.push(',');
    pieces.push(c.subarray(1, c.length - 1));
  });
  pieces.push(`]${LOG_ROWS_JSON_TAIL}`);
  return pieces;
}
