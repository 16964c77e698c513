// The one SQLite writer of a standalone process: request logs, key imports and retention deletes all go through
// it (admin writes of single rows stay on Prisma's connection).
//
// Why one owner: SQLite has a single write lock per file. One connection doing every bulk write never competes
// with itself for it, and keeps each of its transactions to a few milliseconds (sqlite-writer-owner.ts).
//
// Why a worker thread: better-sqlite3 is synchronous, so on the main thread every log transaction ran on the
// event loop that serves proxied requests (8–10% of it in a CPU profile under load). The owner lives in a thread
// of its own (sqlite-writer-thread.ts) and this module is a proxy with the same interface: each call posts
// `{id, op, args}` (records as structured clones, in the batches callers already send) and resolves on the
// reply. The price: Prisma's connection on the main thread may now find the write lock held by one of the
// owner's transactions and wait for it in SQLite's busy handler, on the event loop. The owner rests between
// transactions so that wait stays short (1 ms idle, ~15 ms median during a large retention on a busy machine).
// Only admin writes and the batched key-state writes go that way; proxied requests never write through Prisma.
//
// Checkpoints run in the owner's thread too, on its connection between its transactions (sqlite-writer-owner.ts):
// never on the serving thread. A checkpoint flushes the disk for tens to hundreds of ms, which the writes queued
// behind it in that thread wait for; they are off the serving thread and batched, so that costs nothing a request
// waits on. A thread of its own for checkpoints (as before) was one more V8 isolate, ~9–16 MiB of RSS.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';
import { sqlitePathFromUrl } from './provider';
import type { NewKeyRow, StoredKeyId } from './repositories/keys';
import type { PrunableTable } from './repositories/retention';
import { logRowText } from '@keyway/contracts';
import type { LogWriter } from './repositories/sqlite-log-writer';
import type { WriterCall, WriterFailure, WriterReply, WriterThreadData } from './sqlite-writer-thread';

/** The single writer of a SQLite database in this process. */
export interface SqliteWriter {
  /**
   * Writes request logs in short transactions. Idempotent: a record whose id is already stored is skipped, so a
   * batch retried after a partial write is safe.
   */
  writeLogs(records: readonly RequestLogRecord[]): Promise<void>;
  /**
   * Applies a usage batch (hourly stats, key and access-key use) in one transaction; false when its id was
   * applied before (then nothing is counted again).
   */
  applyUsage(batch: UsageBatch): Promise<boolean>;
  /**
   * Inserts keys, skipping those whose (groupId, keyHash) exists; returns how many were added and the id of every
   * given hash (new or already stored).
   */
  insertKeys(rows: readonly NewKeyRow[]): Promise<{ added: number; ids: StoredKeyId[] }>;
  /** Deletes the rows of `table` whose time is before `before`, in short transactions; returns how many. */
  deleteBefore(table: PrunableTable, before: Date): Promise<number>;
  /**
   * Waits for the pending calls, runs the last checkpoint and closes the connection; call it after the work
   * using the writer has stopped (later calls are refused).
   */
  close(): Promise<void>;
}

/** Options of {@link createSqliteWriter}. */
export interface SqliteWriterOptions {
  /** Called after each transaction with its operation, row count and duration (metrics, benchmarks). */
  onTransaction?: (operation: 'logs' | 'usage' | 'keys' | PrunableTable, rows: number, ms: number) => void;
}

/** A {@link SqliteWriter} whose connection lives in a worker thread. */
export interface SqliteWriterThread extends SqliteWriter {
  /**
   * {@link SqliteWriter.writeLogs} for records already written as their rows: `chunks`, each a JSON array of rows'
   * texts ({@link logRowText}) in UTF-8, in order (the standalone process's log sink writes each record's row into
   * such bytes as it is finished). Each chunk is copied to the thread (Worker#postMessage); chunks of tens of KB stay
   * below malloc's mmap threshold, so neither side maps fresh pages per batch. Strings were slower both ways: a
   * batch in one string was past V8's largest regular object (128 KiB) and took ~1–1.5 ms to post, and rows kept as
   * strings until the batch was full outlived the serving thread's young-generation collections. Empty: nothing.
   */
  writeLogChunks(chunks: readonly Uint8Array[]): Promise<void>;
  /** Ends the thread at once, as a crash would: its pending calls reject, the next call starts a new thread. */
  terminate(): Promise<void>;
}

/**
 * How to start the thread: the built `sqlite-writer-thread.js` beside a bundle (each app that creates a writer
 * builds it as a tsup entry), else the TypeScript source through tsx (tests, `tsx src/main.ts`).
 */
function threadEntry(): { filename: URL | string; eval?: boolean } {
  const built = new URL('./sqlite-writer-thread.js', import.meta.url);
  if (existsSync(built)) return { filename: built };
  const source = new URL('./sqlite-writer-thread.ts', import.meta.url);
  if (!existsSync(source)) {
    throw new Error(`${fileURLToPath(built)} is missing: bundle sqlite-writer-thread.ts with the app`);
  }
  // tsx is a devDependency of this package, resolved from here so it works from any package's tests. On Node 20
  // `--import tsx` in a worker's execArgv does not register it (tsx registers its hooks on the main thread only),
  // so the thread imports the source through tsx's API, whose ESM entry comes from tsx's own export map.
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: { './esm/api': { import: { default: string } } };
  };
  const api = pathToFileURL(join(dirname(manifest), exports['./esm/api'].import.default)).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(source.href)}, ${JSON.stringify(source.href)}))`;
  return { filename: code, eval: true };
}

/** The error a call failed with in the thread, with its `code` (SQLITE_BUSY, SQLITE_CONSTRAINT_…). */
function revive(failure: WriterFailure): Error {
  const err = new Error(failure.message);
  err.name = failure.name;
  return failure.code === undefined ? err : Object.assign(err, { code: failure.code });
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve(value: unknown): void; reject(err: Error): void }>;
  exited: Promise<void>;
}

/** The writer thread's young generation, in MB (its batches are short-lived; the old generation is unbounded). */
const WRITER_YOUNG_GENERATION_MB = 8;
/** How long close() lets the thread take for its last checkpoint, closing and exiting before terminating it. */
const CLOSE_TIMEOUT_MS = 2000;
/** What close() allows on top for starting a thread again (tests load it through tsx: a second or more). */
const RESTART_ALLOWANCE_MS = 10_000;

/**
 * Starts the writer's thread, which opens its own connection to the SQLite file of a `file:` URL and checkpoints
 * it. Idle, the thread never keeps the process alive; a pending call (close() included) does. A thread that dies
 * fails its pending calls and is started again by the next one; its checkpoints resume with it (until then
 * nothing checkpoints, and the write-ahead log may grow).
 */
export function createSqliteWriter(url: string, options: SqliteWriterOptions = {}): SqliteWriterThread {
  const entry = threadEntry();
  const data: WriterThreadData = { url, reportTransactions: options.onTransaction !== undefined };
  let thread: Thread | null = null;
  let nextId = 0;
  // Every call not answered yet, settled either way: what close() waits for.
  const inFlight = new Set<Promise<void>>();
  let closed: Promise<void> | null = null;

  function start(): Thread {
    const worker = new Worker(entry.filename, {
      workerData: data,
      eval: entry.eval === true,
      // Batches die as soon as they are written: a small young generation holds them (V8's default let this thread
      // commit ~36 MB under load).
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    const t: Thread = {
      worker,
      pending: new Map(),
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    let crash: Error | undefined;
    worker.on('message', (m: WriterReply) => {
      if ('transaction' in m) return options.onTransaction?.(...m.transaction);
      const p = t.pending.get(m.id);
      if (!p) return;
      t.pending.delete(m.id);
      if (t.pending.size === 0) worker.unref();
      if ('error' in m) p.reject(revive(m.error));
      else p.resolve(m.value);
    });
    // An uncaught error in the thread; 'exit' follows.
    worker.on('error', (err) => (crash = err));
    worker.on('exit', (code) => {
      if (thread === t) thread = null;
      const err = new Error(`the SQLite writer thread exited (code ${code})`, crash && { cause: crash });
      for (const p of t.pending.values()) p.reject(err);
      t.pending.clear();
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return t;
  }

  function call<R>(op: WriterCall['op'], args: unknown[]): Promise<R> {
    const t = (thread ??= start());
    const id = nextId++;
    const done = new Promise<R>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      try {
        t.worker.postMessage({ id, op, args } satisfies WriterCall);
      } catch (err) {
        // Not cloneable: nothing was sent, and `done` rejects with what postMessage threw.
        t.pending.delete(id);
        throw err;
      }
    });
    if (t.pending.has(id)) t.worker.ref();
    return done;
  }

  function tracked<R>(op: WriterCall['op'], args: unknown[]): Promise<R> {
    if (closed) return Promise.reject(new Error('the SQLite writer is closed'));
    const done = call<R>(op, args);
    const settled = done.then(
      () => {},
      () => {},
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return done;
  }

  // Started now, so the file is open (and a tsx start-up paid) before the first request log arrives.
  thread = start();
  const writeLogChunks = (chunks: readonly Uint8Array[]): Promise<void> =>
    chunks.length === 0 ? Promise.resolve() : tracked('writeLogChunks', [chunks]);
  return {
    // As JSON text: stringifying costs the serving thread a fraction of cloning the records' object graph (request
    // logs are handed over for every proxied request); the writer thread parses it. Records go as rows (values in
    // column order, no property names): half the bytes to write, copy and parse.
    writeLogs: (records) =>
      writeLogChunks(records.length === 0 ? [] : [Buffer.from(`[${records.map(logRowText).join(',')}]`)]),
    writeLogChunks,
    // Likewise one string: a batch holds up to a few thousand small objects.
    applyUsage: (batch) => tracked('applyUsage', [JSON.stringify(batch)]),
    insertKeys: (rows) => tracked('insertKeys', [rows]),
    deleteBefore: (table, before) => tracked('deleteBefore', [table, before]),
    async terminate() {
      const t = thread;
      if (!t) return;
      await t.worker.terminate();
      await t.exited;
    },
    close() {
      closed ??= (async () => {
        await Promise.all(inFlight);
        // A thread that died since the last call is started again: its commits still wait in the WAL for the last
        // checkpoint (a failure of that one is not the caller's: nothing it asked for is lost).
        const restarted = thread === null;
        if (restarted && sqlitePathFromUrl(url) === ':memory:') return;
        const t = (thread ??= start());
        // The thread runs the last checkpoint, closes its connection, answers and ends; one stuck on the disk must
        // not hold up shutdown.
        let stuck = false;
        const timer = setTimeout(
          () => {
            stuck = true;
            void t.worker.terminate();
          },
          restarted ? CLOSE_TIMEOUT_MS + RESTART_ALLOWANCE_MS : CLOSE_TIMEOUT_MS,
        );
        try {
          await call('close', []);
          await t.exited;
        } catch (err) {
          if (!stuck && !restarted) throw err;
        } finally {
          clearTimeout(timer);
        }
      })();
      return closed;
    },
  };
}

/**
 * A request-log writer with its own SQLite writer, for tools and tests (seeding a database). A running standalone
 * process writes its logs through its one shared {@link createSqliteWriter} instead.
 */
export function createSqliteLogWriter(url: string): LogWriter {
  const writer = createSqliteWriter(url);
  return { write: (records) => writer.writeLogs(records), close: () => writer.close() };
}
