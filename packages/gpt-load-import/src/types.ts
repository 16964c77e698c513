/**
 * What a GPT-Load 1.4.x database holds, read into typed rows (one field per column, camelCase).
 *
 * The reader absorbs every storage quirk (SQLite 0/1 booleans and datetime text, MySQL naive DATETIME,
 * JSON as text or JSONB, legacy rows with NULL in later-added columns) so the mapping to Keyway only sees these
 * shapes. Keys are an array (tens of thousands at most); request logs and hourly stats can be millions of rows,
 * so they are async iterators that open their own connection and close it when the loop ends.
 */
import { AppError } from '@keyway/core';

/** A parsed JSON value (the shape `JSON.parse` returns). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object column (param overrides, per-group config, model redirects). */
export type JsonObject = { [key: string]: JsonValue };

/** Which database GPT-Load used, and a printable name for it (password masked). */
export interface GptLoadSource {
  kind: 'sqlite' | 'mysql' | 'postgres';
  /** File path or DSN with the password replaced by `***`: safe for logs, errors and API responses. */
  label: string;
}

/** One `system_settings` row. Values are always text in GPT-Load (`1e+06` style numbers included). */
export interface GptLoadSetting {
  key: string;
  value: string;
}

/** One element of `groups.upstreams` (`[{"url":"https://…","weight":1}]`; weight 0 = disabled). */
export interface GptLoadUpstream {
  url: string;
  weight: number;
}

/** One element of `groups.header_rules` (action `set` or `remove`; key in canonical form). */
export interface GptLoadHeaderRule {
  key: string;
  value: string;
  action: string;
}

/**
 * One `groups` row. JSON columns are parsed; SQL NULL, `''`, the text `null`, `{}` and `[]` all read as "none"
 * (`null`, or `[]` for upstreams), as GPT-Load itself treats them.
 */
export interface GptLoadGroup {
  id: number;
  /** URL slug, `^[a-z0-9_-]{1,100}$` (may start with `_` or `-`). */
  name: string;
  displayName: string | null;
  /** Raw comma-separated plaintext client keys of this group (split on `,`, trim, drop empties). */
  proxyKeys: string | null;
  description: string | null;
  /** `standard` or `aggregate`; a legacy NULL reads as `standard`. */
  groupType: string;
  /** Empty for aggregates. Entries that are not `{url, weight}` are left out and reported in `issues`. */
  upstreams: GptLoadUpstream[];
  /** Path POSTed to validate a key; null = the channel default. */
  validationEndpoint: string | null;
  /** `openai`, `openai-response`, `anthropic`, `gemini`. */
  channelType: string;
  sort: number;
  testModel: string;
  paramOverrides: JsonObject | null;
  /** Per-group overrides of settings, JSON-typed (`{"max_retries":2}`). */
  config: JsonObject | null;
  headerRules: GptLoadHeaderRule[] | null;
  modelRedirectRules: JsonObject | null;
  modelRedirectStrict: boolean;
  lastValidatedAt: Date | null;
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** One `group_sub_groups` row: an aggregate (`groupId`) routes to a standard group by weight (0 = not routed). */
export interface GptLoadSubGroup {
  groupId: number;
  subGroupId: number;
  weight: number;
}

/** How a stored `key_value` was understood. */
export type GptLoadKeyEncoding = 'ciphertext' | 'plaintext' | 'undecryptable';

/** One `api_keys` row. */
export interface GptLoadKey {
  id: number;
  groupId: number;
  /** The plaintext key, or null when it could not be decrypted (then `encoding` is `undecryptable`). */
  keyValue: string | null;
  encoding: GptLoadKeyEncoding;
  keyHash: string | null;
  /** `active` or `invalid` (GPT-Load's only two states; "blacklisted" = invalid). */
  status: string;
  notes: string;
  requestCount: number;
  /** Cumulative counted failures (not reset by successes). */
  failureCount: number;
  lastUsedAt: Date | null;
  createdAt: Date | null;
}

/** One `request_logs` row (one per attempt). */
export interface GptLoadRequestLog {
  /** uuid v4 text. */
  id: string;
  timestamp: Date;
  /** The group that served the attempt (the sub-group for aggregates). */
  groupId: number;
  groupName: string | null;
  /** The aggregate the request came through; GPT-Load's 0 / '' read as null. */
  parentGroupId: number | null;
  parentGroupName: string | null;
  /** Plaintext key; null when none was chosen ('') or it does not decrypt. */
  keyValue: string | null;
  keyHash: string | null;
  model: string | null;
  isSuccess: boolean;
  sourceIp: string | null;
  statusCode: number;
  requestPath: string | null;
  /** Milliseconds since the request started (column `duration`). */
  durationMs: number;
  errorMessage: string | null;
  userAgent: string | null;
  /** `retry` or `final`. */
  requestType: string;
  upstreamAddr: string | null;
  isStream: boolean;
  requestBody: string | null;
}

/** One `group_hourly_stats` row (retries excluded; an aggregate's traffic counted for it and its sub-group). */
export interface GptLoadHourlyStat {
  id: number;
  /** Start of the UTC hour bucket. */
  time: Date;
  groupId: number;
  successCount: number;
  failureCount: number;
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** Something the reader kept going past (an unparsable JSON column, a malformed upstream entry). */
export interface GptLoadReadIssue {
  table: 'system_settings' | 'groups' | 'group_sub_groups' | 'api_keys';
  id: number;
  field: string;
  reason: string;
}

/** Everything an import needs from a GPT-Load database. */
export interface GptLoadSnapshot {
  source: GptLoadSource;
  /** True when the keys are stored as ciphertext (GPT-Load ran with ENCRYPTION_KEY). */
  encrypted: boolean;
  settings: GptLoadSetting[];
  groups: GptLoadGroup[];
  subGroups: GptLoadSubGroup[];
  keys: GptLoadKey[];
  /** How many keys were read per encoding (undecryptable ones have `keyValue: null`). */
  keyCounts: Record<GptLoadKeyEncoding, number>;
  issues: GptLoadReadIssue[];
  /** Row counts of the large tables, for progress reporting. */
  counts: { requestLogs: number; hourlyStats: number };
  /** Streams `request_logs` ordered by id; opens its own connection, closed when the loop ends or breaks. */
  requestLogs(): AsyncIterable<GptLoadRequestLog>;
  /** Streams `group_hourly_stats` ordered by id; same connection rule as `requestLogs`. */
  hourlyStats(): AsyncIterable<GptLoadHourlyStat>;
}

/** Options of `readGptLoad`. */
export interface ReadGptLoadOptions {
  /** GPT-Load's ENCRYPTION_KEY (the password; the AES key is derived from it). */
  encryptionKey?: string;
  /**
   * IANA zone of MySQL DATETIME values (GPT-Load writes them in the DSN's `loc`, default UTC). Overrides the
   * DSN's `loc`; `loc=Local` without this option means the zone of this process.
   */
  mysqlTimeZone?: string;
}

/** Why a GPT-Load database could not be read; the import must then write nothing. */
export type GptLoadReadFailure =
  'wrong_encryption_key' | 'encryption_key_required' | 'not_gpt_load' | 'source_unavailable';

/**
 * A read failure with a message meant for the operator (never containing a password or a key). It is an
 * `AppError` (400 VALIDATION_FAILED) so an API handler answers it like any other bad input.
 */
export class GptLoadReadError extends AppError {
  readonly reason: GptLoadReadFailure;

  constructor(reason: GptLoadReadFailure, message: string, options: { cause?: unknown } = {}) {
    super('VALIDATION_FAILED', message, { ...options, details: { reason } });
    this.name = 'AppError';
    this.reason = reason;
  }
}

/** True for a `GptLoadReadError` of the given reason (or any reason when omitted). */
export function isGptLoadReadError(e: unknown, reason?: GptLoadReadFailure): e is GptLoadReadError {
  return e instanceof GptLoadReadError && (reason === undefined || e.reason === reason);
}
