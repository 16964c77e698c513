import type { DbClient } from '@keyway/db';
import type { KeyPool } from '@keyway/keypool';
import type { Dispatcher } from 'undici';
import type { ValidationSettings } from './settings';

/** The logging the worker needs; a pino logger fits. Never give it a key value: log key ids. */
export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Collaborators of the worker's processors. */
export interface WorkerDeps {
  db: DbClient;
  keyPool: KeyPool;
  /** Turns a stored key value into the plaintext key; throws when it cannot (wrong ENCRYPTION_KEY…). */
  keyCipher: { open(stored: string): string };
  /** Stored global settings (the control plane's settings store fits); missing ones take their defaults. */
  loadSettings: () => Promise<Partial<ValidationSettings>>;
  logger: WorkerLogger;
  /** Clock for due checks and timestamps (default `Date.now`). */
  now?: () => number;
  /** Sends validation requests (default: undici's global dispatcher). */
  dispatcher?: Dispatcher;
}
