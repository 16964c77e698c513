import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { sqlitePathFromUrl } from './provider';

/** How often the checkpointer copies the write-ahead log back into the database file. */
export const CHECKPOINT_EVERY_MS = 250;

// Runs in the worker thread: plain CommonJS, so it needs no build step and no TypeScript loader (it is passed to
// `new Worker` as code). PASSIVE never waits for writers or readers: it copies what it can and tries again later.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or locked: the next round catches up.
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    db.close();
  } finally {
    parentPort.close();
  }
});
`;

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread. A checkpoint copies pages into the database file and
 * flushes it to disk: tens to hundreds of milliseconds, which SQLite otherwise spends inside whichever commit
 * crosses `wal_autocheckpoint` — on the event loop, stalling every request. Connections that turn their
 * auto-checkpoint off rely on this instead. `stop()` runs a last checkpoint and ends the thread.
 */
export function startCheckpointer(url: string, everyMs = CHECKPOINT_EVERY_MS): { stop(): Promise<void> } {
  const path = sqlitePathFromUrl(url);
  if (path === ':memory:') return { stop: () => Promise.resolve() };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { driver, path, everyMs } });
  // Never what keeps a process alive; a failed checkpointer only lets the WAL grow until the next start.
  worker.unref();
  worker.on('error', () => {});
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        void exited.then(resolve);
        // Referenced again: otherwise a process with nothing else to do would exit before the last checkpoint.
        worker.ref();
        worker.postMessage('stop');
        // A thread stuck on the disk must not hold up shutdown.
        setTimeout(() => void worker.terminate(), 2000).unref();
      });
      return stopped;
    },
  };
}
