import type { AlertSink } from '@keyway/alerts';
import type { ProxyPenalty, RequestLogRecord, Settings } from '@keyway/contracts';
import type { LogPort } from '@keyway/core';
import type { DbClient, Provider, RequestLogWriteResult, SqliteWriter } from '@keyway/db';
import type { KeyCipher, KeyPool } from '@keyway/keypool';
import type { Dispatcher } from 'undici';
import type { ValidationSettings } from './settings';

/** Collaborators of the worker's processors. */
export interface WorkerDeps {
  db: DbClient;
  /** Which database `db` talks to: key imports use a statement per dialect. */
  dbProvider: Provider;
  /**
   * The process's one SQLite writer (standalone): imports and retention deletes go through it in short
   * transactions, so they never hold the event loop or the write lock for long.
   */
  sqliteWriter?: SqliteWriter | undefined;
  /**
   * Where keys live for the gateways (distributed: the Redis pool, whose mirror must hold every group so that
   * an import can tell new keys from known ones; standalone: the in-memory pool).
   */
  keyPool: KeyPool;
  /**
   * How keys are stored: `open` turns a stored (or queued, sealed) value into the plaintext key and throws when
   * it cannot (wrong ENCRYPTION_KEY…); `seal` and `hash` store imported keys as the control plane does.
   */
  keyCipher: Pick<KeyCipher, 'open' | 'seal' | 'hash'>;
  /** Stored global settings (the control plane's settings store fits); missing ones take their defaults. */
  loadSettings: () => Promise<
    Partial<ValidationSettings & Pick<Settings, 'egressBlockPrivate' | 'proxyUrl'>>
  >;
  /** Never give it a key value: log key ids. */
  logger: LogPort;
  /**
   * Writes a `request-logs` batch (default: `writeRequestLogs` through Prisma, any database). A replacement must
   * be idempotent too: jobs are retried, and a stalled one may run on two workers.
   */
  writeRequestLogs?: (records: readonly RequestLogRecord[]) => Promise<RequestLogWriteResult>;
  /** Clock for due checks and timestamps (default `Date.now`). */
  now?: () => number;
  /** Sends validation requests (default: a client that applies the egress policy, as the gateway's do). */
  dispatcher?: Dispatcher;
  /** The port this process serves `/proxy` on (standalone): validation requests never go there. */
  selfPort?: number;
  /**
   * The penalties gateways hold now on egress proxies (distributed: shared in Redis; standalone: the in-process
   * gateway's): a key whose pinned proxy is penalised is validated through the next one, as the gateway sends it.
   */
  proxyPenalties?: (proxyUrls: readonly string[]) => Promise<ReadonlyMap<string, ProxyPenalty>>;
  /** Where the worker's alerts go (keys invalidated, restored, budgets, long tasks); default: `alert` jobs. */
  alerts?: AlertSink;
}
