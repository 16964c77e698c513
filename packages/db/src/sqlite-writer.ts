// The one SQLite writer of a standalone process: request logs, key imports and retention deletes all go through
// it (admin writes of single rows stay on Prisma's connection).
//
// Why one owner: SQLite has a single write lock per file, and better-sqlite3 is synchronous — a statement waiting
// for the lock waits on the event loop, and one large statement holds the loop for as long as it runs. So the
// owner keeps every write transaction short and synchronous (BEGIN IMMEDIATE … COMMIT inside one call, a few
// milliseconds, sized by measuring), never holds the lock across an `await`, and yields to the event loop
// between transactions. Two transactions of this connection can therefore never overlap, and Prisma's
// connection, whose statements are synchronous too, never finds the lock held by this one. When someone else
// holds the lock (Prisma's interactive transaction spanning awaits, another process, a backup), the owner does
// not block the loop in SQLite's busy handler: its busy timeout is 0, and it retries on a timer instead. Commits
// do not flush to disk (WAL + synchronous=NORMAL); the checkpoints that do run in a worker thread.
//
// Operations take and return plain data only, so the owner can move into a worker thread (records handed over
// in batches by postMessage) without changing its callers.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { RequestLogRecord } from '@keyway/contracts';
import type { NewKeyRow, StoredKeyId } from './repositories/keys';
import { prepareKeyInsert } from './repositories/keys';
import type { PrunableTable } from './repositories/retention';
import { prepareDeleteBefore } from './repositories/retention';
import type { LogWriter } from './repositories/sqlite-log-writer';
import { prepareLogInsert } from './repositories/sqlite-log-writer';
import { adaptiveBatch, yieldToLoop } from './slices';
import { startCheckpointer } from './sqlite-checkpointer';
import { SQLITE_BUSY_TIMEOUT_MS, openSqliteFile } from './sqlite-file';

/** The single writer of a SQLite database in this process. */
export interface SqliteWriter {
  /**
   * Writes request logs with their hourly stats and key counters, in short transactions. Idempotent: a record
   * whose id is already stored is skipped and not counted again, so a batch retried after a partial write is safe.
   */
  writeLogs(records: readonly RequestLogRecord[]): Promise<void>;
  /**
   * Inserts keys, skipping those whose (groupId, keyHash) exists; returns how many were added and the id of every
   * given hash (new or already stored).
   */
  insertKeys(rows: readonly NewKeyRow[]): Promise<{ added: number; ids: StoredKeyId[] }>;
  /** Deletes the rows of `table` whose time is before `before`, in short transactions; returns how many. */
  deleteBefore(table: PrunableTable, before: Date): Promise<number>;
  /** Closes the connection once the last checkpoint is done; call it after the work using it has stopped. */
  close(): Promise<void>;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

/** Options of {@link createSqliteWriter}. */
export interface SqliteWriterOptions {
  /** Called after each transaction with its operation, row count and duration (metrics, benchmarks). */
  onTransaction?: (operation: 'logs' | 'keys' | PrunableTable, rows: number, ms: number) => void;
}

/** Opens the writer's own connection to the SQLite file of a `file:` URL. */
export function createSqliteWriter(url: string, options: SqliteWriterOptions = {}): SqliteWriter {
  const db: Database.Database = openSqliteFile(url);
  // Waiting for a lock happens on a timer (below), never inside SQLite on the event loop.
  db.pragma('busy_timeout = 0');
  // WAL + NORMAL: commits do not wait for fsync (a checkpoint does); a crash of the process loses nothing, a
  // power cut may lose the last commits, never corrupts the file. FULL cost a disk flush per short transaction.
  db.pragma('synchronous = NORMAL');
  // Checkpoints flush the database file: done by a worker thread, not inside one of these commits.
  db.pragma('wal_autocheckpoint = 0');
  // Random 64-hex key hashes land all over their indexes: with SQLite's default 2 MB page cache an import of
  // 100,000 keys spent most of each transaction re-reading index pages.
  db.pragma('cache_size = -32768');
  const checkpointer = startCheckpointer(url);
  const insertLogs = prepareLogInsert(db);
  const insertKeys = prepareKeyInsert(db);
  const deletes = new Map<PrunableTable, ReturnType<typeof prepareDeleteBefore>>();

  /** Runs one transaction as soon as the write lock is free, waiting on a timer while it is not. */
  async function transact<R>(work: () => R): Promise<R> {
    const tx = db.transaction(work);
    const deadline = performance.now() + SQLITE_BUSY_TIMEOUT_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        return tx.immediate();
      } catch (err) {
        if (!isBusy(err) || performance.now() > deadline) throw err;
      }
      await sleep(wait);
    }
  }

  /**
   * Feeds `items` to `write` in transactions sized to take a few milliseconds, yielding between them. A key
   * import also rests as long as its last transaction took (at most 10 ms): flat out, 100,000 keys kept this
   * thread busy for seconds, and on a busy machine the OS then preempts it for tens of ms at a time, delaying
   * every request the process serves; at half duty it is rescheduled promptly. Request logs keep up with
   * traffic and are not slowed.
   */
  async function sliced<T, R>(
    operation: 'logs' | 'keys',
    items: readonly T[],
    batch: ReturnType<typeof adaptiveBatch>,
    write: (part: readonly T[]) => R,
    each: (result: R) => void,
  ): Promise<void> {
    for (let i = 0; i < items.length;) {
      const part = items.slice(i, i + batch.size());
      const t = performance.now();
      each(await transact(() => write(part)));
      const ms = performance.now() - t;
      batch.record(part.length, ms);
      options.onTransaction?.(operation, part.length, ms);
      i += part.length;
      if (i < items.length) await (operation === 'keys' ? sleep(Math.min(ms, 10)) : yieldToLoop());
    }
  }

  // Batch sizes are learned per operation and kept between calls.
  const logBatch = adaptiveBatch({ initial: 100 });
  const keyBatch = adaptiveBatch({ initial: 200 });
  const deleteBatch = new Map<PrunableTable, ReturnType<typeof adaptiveBatch>>();

  return {
    async writeLogs(records) {
      await sliced('logs', records, logBatch, insertLogs, () => {});
    },
    async insertKeys(rows) {
      let added = 0;
      const ids: StoredKeyId[] = [];
      await sliced('keys', rows, keyBatch, insertKeys, (r) => {
        added += r.added;
        ids.push(...r.ids);
      });
      return { added, ids };
    },
    async deleteBefore(table, before) {
      const remove = deletes.get(table) ?? prepareDeleteBefore(db, table);
      deletes.set(table, remove);
      let batch = deleteBatch.get(table);
      if (!batch) deleteBatch.set(table, (batch = adaptiveBatch({ initial: 200, max: 20_000 })));
      let deleted = 0;
      for (;;) {
        const limit = batch.size();
        const t = performance.now();
        const n = await transact(() => remove(before, limit));
        const ms = performance.now() - t;
        batch.record(n, ms);
        options.onTransaction?.(table, n, ms);
        deleted += n;
        if (n < limit) return deleted;
        await yieldToLoop();
      }
    },
    async close() {
      await checkpointer.stop();
      db.close();
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
