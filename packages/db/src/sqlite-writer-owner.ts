// What the SQLite writer's thread runs: the connection that owns every write of the process to one SQLite file
// (see sqlite-writer.ts for why there is one owner and why it lives in its own thread).
//
// The owner keeps every write transaction short and synchronous (BEGIN IMMEDIATE … COMMIT inside one call, a few
// milliseconds, sized by measuring), never holds the lock across an `await`, and yields to its event loop between
// transactions, so calls that overlap (a key import while logs arrive) take turns. When someone else holds the
// lock (Prisma's connection on the main thread, another process, a backup), the owner does not wait in SQLite's
// busy handler: its busy timeout is 0, and it retries on a timer instead, so the calls behind it go on. Commits
// do not flush to disk (WAL + synchronous=NORMAL); the checkpoints that do run on this connection too, between
// its transactions, when the writer's thread asks for them (`checkpointEveryMs`).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { StoredKeyId } from './repositories/keys';
import { prepareKeyInsert } from './repositories/keys';
import type { PrunableTable } from './repositories/retention';
import { prepareDeleteBefore } from './repositories/retention';
import { toLogRow, type LogRow } from '@keyway/contracts';
import { prepareLogInsert } from './repositories/sqlite-log-writer';
import { prepareUsageApply } from './repositories/usage';
import { adaptiveBatch } from './slices';
import { sqlitePathFromUrl } from './provider';
import { SQLITE_BUSY_TIMEOUT_MS, openSqliteFile } from './sqlite-file';
import type { SqliteWriter, SqliteWriterOptions } from './sqlite-writer';

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

/** The writer's page cache for request logs and usage (KiB). */
export const STEADY_CACHE_KIB = 8192;
/** Its page cache while key imports or retention deletes run, and for how long after their last batch. */
export const BULK_CACHE_KIB = 32768;
const BULK_CACHE_HOLD_MS = 10_000;
/** How often the writer's thread copies the write-ahead log back into the database file. */
export const CHECKPOINT_EVERY_MS = 250;

/** Options of {@link openSqliteOwner}. */
export interface SqliteOwnerOptions extends SqliteWriterOptions {
  /** How long the bulk page cache is kept after the last bulk batch (default 10 s; tests shorten it). */
  bulkCacheHoldMs?: number;
  /** Told the page cache size (KiB) as SQLite reports it after each change (tests). */
  onCacheSize?: (kib: number) => void;
  /**
   * Checkpoint the write-ahead log from this connection this often, and once more in `close()`. Only the writer's
   * thread asks for it: a checkpoint flushes the disk, never to be done on the serving thread. Off by default.
   */
  checkpointEveryMs?: number;
}

/**
 * Checkpoints the write-ahead log from the owner's connection every `everyMs` (none for `:memory:` or without
 * `everyMs`). A timer callback only runs between the owner's transactions (each is one synchronous call), so a
 * checkpoint never sits inside one; it delays the next batch by its duration (tens to hundreds of ms when it
 * flushes the disk), on the writer's thread, never the serving one. The connection is already open, so this
 * costs no thread, connection or page cache of its own (a separate checkpointer thread was a whole V8 isolate,
 * ~9–16 MiB of RSS). PASSIVE never waits for writers or readers, and the busy timeout is 0: what cannot be copied
 * now is copied by a later round. The timer is unreferenced, so it never keeps the thread alive. While no writer
 * thread runs (it died; the next call starts another) nothing checkpoints and the WAL may grow until that call.
 */
function startCheckpoints(
  db: Database.Database,
  url: string,
  everyMs: number | undefined,
): { stop(): void } | null {
  if (everyMs === undefined || sqlitePathFromUrl(url) === ':memory:') return null;
  const checkpoint = (): void => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked (another connection checkpointing): the next round catches up.
    }
  };
  const timer = setInterval(checkpoint, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      checkpoint();
    },
  };
}

/** The owner's side of a {@link SqliteWriter}: it also takes request logs as rows, the form they cross threads in. */
export interface SqliteOwner extends SqliteWriter {
  writeLogRows(rows: readonly LogRow[]): Promise<void>;
}

/**
 * Opens the owner's connection to the SQLite file of a `file:` URL, in the calling thread; `close()` closes it.
 * Everything it takes and returns is plain data, so it can sit behind postMessage.
 */
export function openSqliteOwner(url: string, options: SqliteOwnerOptions = {}): SqliteOwner {
  const db: Database.Database = openSqliteFile(url);
  // Waiting for a lock happens on a timer (below), never inside SQLite.
  db.pragma('busy_timeout = 0');
  // WAL + NORMAL: commits do not wait for fsync (a checkpoint does); a crash of the process loses nothing, a
  // power cut may lose the last commits, never corrupts the file. FULL cost a disk flush per short transaction.
  db.pragma('synchronous = NORMAL');
  // Checkpoints flush the database file: done on a timer between transactions (below), not inside a commit.
  db.pragma('wal_autocheckpoint = 0');
  const checkpoints = startCheckpoints(db, url, options.checkpointEveryMs);
  // Request logs append at the end of their table and indexes: a small page cache serves them (the cache is
  // this process's memory, held for good once filled). Bulk work widens it while it runs (see `bulk`).
  const cacheSize = (kib: number): void => {
    db.pragma(`cache_size = -${kib}`);
    options.onCacheSize?.(-Number(db.pragma('cache_size', { simple: true })));
  };
  cacheSize(STEADY_CACHE_KIB);
  const holdMs = options.bulkCacheHoldMs ?? BULK_CACHE_HOLD_MS;
  let bulkUntil = 0;
  let narrowing: NodeJS.Timeout | null = null;
  /**
   * Random 64-hex key hashes land all over their indexes: with a small page cache an import of 100,000 keys spent
   * most of each transaction re-reading index pages. Key imports and retention deletes get a 32 MB cache until
   * 10 s after their last batch; then it is narrowed again and its memory handed back.
   */
  function bulk(): void {
    if (bulkUntil === 0) cacheSize(BULK_CACHE_KIB);
    bulkUntil = performance.now() + holdMs;
    if (narrowing) return;
    const check = (): void => {
      const left = bulkUntil - performance.now();
      if (left > 0) {
        narrowing = setTimeout(check, left);
        narrowing.unref();
        return;
      }
      narrowing = null;
      bulkUntil = 0;
      if (!db.open) return;
      cacheSize(STEADY_CACHE_KIB);
      db.pragma('shrink_memory');
    };
    narrowing = setTimeout(check, holdMs);
    narrowing.unref();
  }
  const insertLogs = prepareLogInsert(db);
  const applyUsage = prepareUsageApply(db);
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
   * Leaves the write lock free for as long as the last transaction held it (at most 10 ms) before the next one.
   * Prisma's connection on the main thread waits for the lock in SQLite's busy handler, which sleeps on the event
   * loop and probes at 0, 1, 3, 8, 18… ms: back to back, this thread's transactions kept it out for 0.65–1.4 s
   * during a 200,000-row retention; at half duty its wait is a few ms. Half duty also keeps a long import from
   * holding a core: on a busy two-core machine the OS then preempted the main thread for tens of ms at a time.
   */
  function rest(ms: number): Promise<void> {
    return sleep(Math.min(ms, 10));
  }

  /** Feeds `items` to `write` in transactions sized to take a few milliseconds, resting between them. */
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
      if (i < items.length) await rest(ms);
    }
  }

  // Batch sizes are learned per operation and kept between calls.
  // Request logs in transactions of at least 200 records (~10–20 ms, in this thread, off the serving loop): each
  // commit rewrites the last page of the log table and of its seven indexes, and with the few-millisecond target
  // (learned down to ~10 records, commits included) a logged request cost ~4 WAL page writes; now under one.
  const logBatch = adaptiveBatch({ initial: 500, min: 200, targetMs: 20 });
  const keyBatch = adaptiveBatch({ initial: 200 });
  const deleteBatch = new Map<PrunableTable, ReturnType<typeof adaptiveBatch>>();

  async function writeLogRows(rows: readonly LogRow[]): Promise<void> {
    await sliced('logs', rows, logBatch, insertLogs, () => {});
  }

  return {
    async writeLogs(records) {
      await writeLogRows(records.map(toLogRow));
    },
    writeLogRows,
    async applyUsage(batch) {
      const t = performance.now();
      const applied = await transact(() => applyUsage(batch));
      options.onTransaction?.('usage', batch.buckets.length, performance.now() - t);
      return applied;
    },
    async insertKeys(rows) {
      bulk();
      let added = 0;
      const ids: StoredKeyId[] = [];
      await sliced('keys', rows, keyBatch, insertKeys, (r) => {
        added += r.added;
        ids.push(...r.ids);
      });
      return { added, ids };
    },
    async deleteBefore(table, before) {
      bulk();
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
        await rest(ms);
      }
    },
    close() {
      if (narrowing) clearTimeout(narrowing);
      // The last checkpoint takes every commit into the database file before the connection goes.
      checkpoints?.stop();
      db.close();
      return Promise.resolve();
    },
  };
}
