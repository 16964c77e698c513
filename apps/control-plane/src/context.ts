import type { DbClient, SqliteWriter } from '@keyway/db';
import type { JobQueue } from '@keyway/queue';
import type { KeyPool } from '@keyway/keypool';
import type { LogPort } from '@keyway/core';
import type { LimitRule } from '@keyway/limits';
import type { Tracing } from '@keyway/observability';
import type { ProxyPenalty } from '@keyway/contracts';
import type { KeyCipher } from './key-cipher';
import type { SessionStore } from './session-store';

/** Everything the control plane needs, built by a composition root. */
export interface ControlPlaneDeps {
  db: DbClient;
  /** Which database `db` talks to (raw statements differ per dialect); SQLite when omitted. */
  dbProvider?: 'sqlite' | 'postgresql' | 'mysql';
  /** The process's one SQLite writer (standalone): key imports write through it in short transactions. */
  sqliteWriter?: SqliteWriter | undefined;
  keyPool: KeyPool;
  /** The admin key (already checked for strength by the app's env). */
  authKey: string;
  keyCipher: KeyCipher;
  logger: LogPort;
  /** Called after every change of groups or settings, so gateways pick it up without a restart. */
  onConfigChanged: () => Promise<void>;
  /**
   * Writes key health changes that are still buffered (live state lives in the pool; the database copy follows
   * within a second). Called before queries that filter on key state, so they agree with the live view.
   */
  flushKeyStates?: () => Promise<void>;
  /** Background tasks (validation, large imports); without it those routes answer 503. */
  queue?: JobQueue;
  /** Sends one validation request for a key now and updates its health (the worker's logic). */
  testKey?: (key: { groupId: number; keyId: number; value: string }) => Promise<KeyTestResult>;
  /** Set the session cookie's Secure flag (behind HTTPS). */
  secureCookies?: boolean;
  /** Where admin sessions live: Redis in distributed mode; the database (`db`) when omitted. */
  sessionStore?: SessionStore;
  /** Whether a peer address is a trusted reverse proxy (then its X-Forwarded-* headers are believed). */
  isTrustedProxy?: (address: string) => boolean;
  /**
   * The access-key counters the gateways share (distributed: Redis; standalone: the gateway's own), read for an
   * access key's `rpmNow` (counter id `ak:<id>`). Without it `rpmNow` is 0.
   */
  counters?: { read(id: string, rule: LimitRule): Promise<{ used: number }> };
  /**
   * The penalties gateways hold now on egress proxies, by proxy URL (standalone: the in-process gateway's;
   * distributed: what the gateways share in Redis). Without it `GET /api/groups/{id}/proxies` answers 503.
   */
  proxyPenalties?: (proxyUrls: readonly string[]) => Promise<ReadonlyMap<string, ProxyPenalty>>;
  /** OpenTelemetry: a span per admin request when on (absent or off: no middleware at all). */
  tracing?: Tracing;
}

/** What an audit entry records besides action and target: never secrets. */
export type AuditDetails = Record<string, string | number | boolean | string[] | null>;

/** `POST /api/keys/{id}/test` answer. */
export interface KeyTestResult {
  valid: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** Hono environment of the admin API. */
export interface CpEnv {
  Variables: {
    deps: ControlPlaneDeps;
    clientIp: string;
    audit: (action: string, target: string, details?: AuditDetails) => Promise<void>;
    /** How `requireAuth` let the request in: the CSRF check applies to cookie callers only. */
    authVia: 'bearer' | 'cookie';
    /** The caller's session (null for bearer callers). */
    sessionId: string | null;
  };
}
