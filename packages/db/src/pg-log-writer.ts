import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RequestLogRecord } from '@keyway/contracts';
import { LOG_COLUMNS, maskCharReplacer } from '@keyway/contracts';
import { needsJsonEscape } from '@keyway/core';
import type * as Pg from 'pg';
import type * as PgCopyStreams from 'pg-copy-streams';
import { postgresSearchPathOption } from './client';
import type { RequestLogWriteResult } from './repositories/request-logs';
import { lazyRequire } from './lazy-require';

/** `TIMESTAMP(3)` as Prisma stores it on PostgreSQL: UTC wall-clock time without a zone. */
const utc = (ms: number): string => new Date(ms).toISOString().slice(0, -1);

/** The element type of each request_logs column's UNNEST array (every column: the compiler checks). */
const PG_TYPES: Record<(typeof LOG_COLUMNS)[number], 'text' | 'timestamp' | 'int' | 'bool' | 'float8'> = {
  id: 'text',
  requestId: 'text',
  time: 'timestamp',
  groupId: 'int',
  groupName: 'text',
  parentGroupId: 'int',
  parentGroupName: 'text',
  keyId: 'int',
  keyMasked: 'text',
  proxyKeyMasked: 'text',
  model: 'text',
  statusCode: 'int',
  success: 'bool',
  durationMs: 'int',
  ttfbMs: 'int',
  stream: 'bool',
  retries: 'int',
  attempts: 'text', // cast to jsonb
  error: 'text',
  clientIp: 'text',
  requestPath: 'text',
  promptTokens: 'int',
  completionTokens: 'int',
  cachedTokens: 'int',
  costUsd: 'float8',
  accessKeyId: 'int',
  accessKeyName: 'text',
  translatedFrom: 'text',
  requestBody: 'text',
};
/** The request_logs columns both writers fill, in the shared order (rowValues follows it), with their types. */
const PG_COLUMNS = LOG_COLUMNS.map((c) => [c, PG_TYPES[c]] as const);
const COLUMN_LIST = PG_COLUMNS.map(([c]) => `"${c}"`).join(', ');

// Columns travel as arrays and UNNEST turns them into rows. ON CONFLICT DO NOTHING RETURNING tells which records
// are new: a retried batch (or one run twice by two workers) does not duplicate rows.
const INSERT_LOGS = `INSERT INTO request_logs (${COLUMN_LIST})
SELECT ${PG_COLUMNS.map(([c]) => (c === 'attempts' ? 'u."attempts"::jsonb' : `u."${c}"`)).join(', ')}
FROM UNNEST(${PG_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS u(${COLUMN_LIST})
ON CONFLICT ("id") DO NOTHING
RETURNING "id"`;

// The common case, a batch none of whose rows exist yet, goes in through COPY: PostgreSQL's cheapest way in (about a
// third less of its CPU than INSERT … UNNEST … ON CONFLICT) and no per-element array quoting on our side. COPY
// cannot skip rows that exist, so a unique violation (a retried or doubled batch) rolls back and the batch is
// written again through INSERT_LOGS, which can.
const COPY_LOGS = `COPY request_logs (${COLUMN_LIST}) FROM STDIN`;

const UNIQUE_VIOLATION = '23505';
const NUL = '\u0000';
// COPY's text format: a backslash, tab, newline or carriage return in a value is escaped (rowValues has dropped
// NUL, which PostgreSQL text cannot hold, from every field).
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeCopy = (c: string): string => COPY_ESCAPES[c] ?? '';

/** One value in COPY's text format. */
export function copyValue(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'string') return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_ALL, escapeCopy) : v;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return String(v);
}

/** `time` as a UTC wall-clock timestamp: an ISO string in UTC is one already (the zone is ignored). */
const wallClock = (time: string): string => (time.endsWith('Z') ? time : utc(Date.parse(time)));

/** Attempts as JSON without NUL, which `jsonb` refuses even escaped. */
export function attemptsJson(attempts: RequestLogRecord['attempts']): string {
  const json = JSON.stringify(attempts);
  if (!json.includes('\\u0000')) return json;
  return JSON.stringify(attempts, (_k, v: unknown) => (typeof v === 'string' ? v.replaceAll(NUL, '') : v));
}

/**
 * {@link attemptsJson} as COPY text, written field by field when every string is plain (the usual attempt: the
 * result has no backslash, tab or line break, so needs no COPY escaping either); otherwise the two steps as they
 * are. `JSON.stringify` of each record's attempts and the escaping after it were ~40% of turning a batch into COPY
 * text. Masks go through {@link asciiMask}; the value COPY reads is the same either way (a seeded fuzz test).
 */
function attemptsCopy(attempts: RequestLogRecord['attempts']): string {
  let out = '[';
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i]!;
    const { key, error, proxy, model } = a;
    if (
      needsJsonEscape(a.upstreamUrl) ||
      needsJsonEscape(a.class) ||
      (key !== null && needsJsonEscape(key)) ||
      (error !== null && needsJsonEscape(error)) ||
      (proxy !== undefined && needsJsonEscape(proxy)) ||
      (model !== undefined && needsJsonEscape(model))
    )
      return copyValue(attemptsJson(attempts));
    // The schema's field order, as the record holds them (JSON.stringify writes an object's keys in its order).
    out +=
      `${i === 0 ? '' : ','}{"keyId":${a.keyId},"key":${key === null ? 'null' : `"${asciiMask(key)}"`},` +
      `"upstreamUrl":"${a.upstreamUrl}","statusCode":${a.statusCode},"class":"${a.class}",` +
      `"durationMs":${a.durationMs},"error":${error === null ? 'null' : `"${error}"`}` +
      `${proxy === undefined ? '' : `,"proxy":"${asciiMask(proxy)}"`}${model === undefined ? '' : `,"model":"${model}"`}}`;
  }
  return `${out}]`;
}

/**
 * Rows of COPY text per string: a batch's text in one string (~100k characters, two bytes each when a record holds
 * non-ASCII text) was past V8's largest regular object, allocated in fresh pages each time (page faults).
 */
const COPY_ROWS_PER_STRING = 32;

/** A string column as COPY text: `\N` for null, NUL dropped, escaped. */
const copyText = (v: string | null): string => (v === null ? '\\N' : copyValue(noNul(v)));
/** A number column as COPY text. */
const copyNumber = (v: number | null): string => (v === null ? '\\N' : String(v));

/**
 * COPY text (escaped already) of a mask with its `…` (U+2026) written as its three UTF-8 bytes' escapes, which
 * PostgreSQL decodes back into the same character. Every record carries masks, and one `…` made its whole line, and
 * the batch's text, a two-byte string in V8: twice the memory, and a slower encode into UTF-8. The usual line is
 * ASCII from end to end now.
 */
const asciiMask = maskCharReplacer('\u2026', '\\xE2\\x80\\xA6');

/**
 * One record as a line of COPY text: {@link rowValues} through {@link copyValue}, tab-separated, written out
 * column by column (no array of values and of their texts per record), masks through {@link asciiMask}. A test
 * holds it to those two, decoded as PostgreSQL decodes COPY text.
 */
export function copyLine(r: RequestLogRecord): string {
  return (
    `${copyText(r.id)}\t${copyText(r.requestId)}\t${copyValue(wallClock(r.time))}\t${r.groupId}\t` +
    `${copyText(r.groupName)}\t${copyNumber(r.parentGroupId)}\t${copyText(r.parentGroupName)}\t` +
    `${copyNumber(r.keyId)}\t${asciiMask(copyText(r.keyMasked))}\t${asciiMask(copyText(r.proxyKeyMasked))}\t` +
    `${copyText(r.model)}\t` +
    `${r.statusCode}\t${r.success ? 't' : 'f'}\t${Math.round(r.durationMs)}\t` +
    `${r.ttfbMs === null ? '\\N' : Math.round(r.ttfbMs)}\t${r.stream ? 't' : 'f'}\t${r.retries}\t` +
    `${attemptsCopy(r.attempts)}\t${copyText(r.error)}\t${copyText(r.clientIp)}\t${copyText(r.requestPath)}\t` +
    `${copyNumber(r.promptTokens)}\t${copyNumber(r.completionTokens)}\t${copyNumber(r.cachedTokens)}\t` +
    `${copyNumber(r.costUsd)}\t${copyNumber(r.accessKeyId)}\t${copyText(r.accessKeyName)}\t` +
    `${copyText(r.translatedFrom ?? null)}\t${copyText(r.requestBody)}\n`
  );
}

/** The batch as COPY text rows, in strings of {@link COPY_ROWS_PER_STRING} rows. */
function copyRows(records: readonly RequestLogRecord[]): string[] {
  const out: string[] = [];
  let text = '';
  for (let i = 0; i < records.length; i++) {
    text += copyLine(records[i]!);
    if ((i + 1) % COPY_ROWS_PER_STRING === 0) {
      out.push(text);
      text = '';
    }
  }
  if (text !== '') out.push(text);
  return out;
}

/** True when every record went in through COPY; false when some exist already (nothing is written then). */
// Loaded by the first PostgreSQL log writer (see lazyRequire): standalone on SQLite never needs them.
const loadPg = lazyRequire<typeof Pg>(import.meta.url, 'pg');
const loadCopyStreams = lazyRequire<typeof PgCopyStreams>(import.meta.url, 'pg-copy-streams');

/**
 * Buffers that held a batch's COPY data, kept for the next batches. A batch is ~100 KB of text; encoded into a fresh
 * buffer each time (what writing the string to the COPY stream does) that memory came from new pages every batch,
 * and on this VM each 4 KiB page is a fault of several µs: `Buffer.from` was ~15% of the worker's CPU under load.
 */
const spareCopyBuffers: Buffer[] = [];
const COPY_BUFFER_MIN = 256 * 1024;
/** A buffer grown past this (a batch of logged request bodies) is not kept; nor more than the pool's connections. */
const COPY_BUFFER_KEEP_MAX = 4 * 1024 * 1024;
const SPARE_COPY_BUFFERS_MAX = 2;

/** The batch's COPY text, UTF-8 encoded into a spare buffer; `release` hands the buffer back for reuse. */
function encodeCopy(texts: readonly string[]): { data: Buffer; release: () => void } {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text);
  let buffer = spareCopyBuffers.pop();
  if (buffer === undefined || buffer.length < bytes)
    buffer = Buffer.allocUnsafe(Math.max(bytes, COPY_BUFFER_MIN));
  let at = 0;
  for (const text of texts) at += buffer.write(text, at);
  const kept = buffer;
  const release = () => {
    if (kept.length <= COPY_BUFFER_KEEP_MAX && spareCopyBuffers.length < SPARE_COPY_BUFFERS_MAX)
      spareCopyBuffers.push(kept);
  };
  return { data: buffer.subarray(0, bytes), release };
}

/**
 * COPY on its own (autocommit, no BEGIN/COMMIT around it): one statement is one transaction, so a failed COPY
 * leaves nothing behind, and a batch costs one round trip instead of three (a batch is ~230 rows: a gateway cuts
 * its log jobs at ~100k characters).
 */
async function copyLogs(client: Pg.PoolClient, records: readonly RequestLogRecord[]): Promise<boolean> {
  try {
    const { data, release } = encodeCopy(copyRows(records));
    await pipeline(Readable.from([data]), client.query(loadCopyStreams().from(COPY_LOGS)));
    // Only once PostgreSQL has answered the whole COPY (the stream finishes then): nothing reads the buffer any more.
    // After a failure it is left to the garbage collector, in case the connection still holds a write of it.
    release();
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) return false;
    throw err;
  }
}

/** PostgreSQL text cannot hold NUL. */
const noNul = <T extends string | null>(v: T): T =>
  (v === null || !v.includes(NUL) ? v : v.replaceAll(NUL, '')) as T;

/** A record's values in LOG_COLUMNS order, as stored (NUL dropped, durations rounded). */
export function rowValues(r: RequestLogRecord): (string | number | boolean | null)[] {
  return [
    noNul(r.id),
    noNul(r.requestId),
    wallClock(r.time),
    r.groupId,
    noNul(r.groupName),
    r.parentGroupId,
    noNul(r.parentGroupName),
    r.keyId,
    noNul(r.keyMasked),
    noNul(r.proxyKeyMasked),
    noNul(r.model),
    r.statusCode,
    r.success,
    Math.round(r.durationMs),
    r.ttfbMs === null ? null : Math.round(r.ttfbMs),
    r.stream,
    r.retries,
    attemptsJson(r.attempts),
    noNul(r.error),
    noNul(r.clientIp),
    noNul(r.requestPath),
    r.promptTokens,
    r.completionTokens,
    r.cachedTokens,
    r.costUsd,
    r.accessKeyId,
    noNul(r.accessKeyName),
    r.translatedFrom ?? null,
    noNul(r.requestBody),
  ];
}

/** Column arrays of the log rows, in INSERT_LOGS's parameter order. */
function logColumns(records: readonly RequestLogRecord[]): unknown[][] {
  const cols: unknown[][] = PG_COLUMNS.map(() => []);
  for (const r of records) rowValues(r).forEach((v, i) => cols[i]?.push(v));
  return cols;
}

/** A batch writer of request logs for PostgreSQL. */
export interface PgLogWriter {
  write(records: readonly RequestLogRecord[]): Promise<RequestLogWriteResult>;
  close(): Promise<void>;
}

/**
 * The worker's fast path on PostgreSQL: the same rows as `writeRequestLogs`, in one statement per batch on a `pg`
 * pool of its own. Prisma's per-row query compilation cost the worker about 1 ms of CPU per log record, more than
 * the gateway spent proxying the request.
 */
export function createPgLogWriter(url: string, options: { maxConnections?: number } = {}): PgLogWriter {
  const searchPath = postgresSearchPathOption(url);
  const pool = new (loadPg().Pool)({
    connectionString: url,
    max: options.maxConnections ?? 2,
    ...(searchPath ? { options: searchPath } : {}),
  });
  pool.on('error', () => undefined); // an idle client's error surfaces on its next query
  return {
    async write(records) {
      if (records.length === 0) return { written: 0, duplicates: 0 };
      const client = await pool.connect();
      let failed = false;
      try {
        let written = records.length;
        // A batch some of whose rows exist (a retried job) goes in through INSERT … ON CONFLICT DO NOTHING, also
        // one statement.
        if (!(await copyLogs(client, records)))
          written = (await client.query<{ id: string }>(INSERT_LOGS, logColumns(records))).rowCount ?? 0;
        return { written, duplicates: records.length - written };
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        // A connection that failed mid-batch (mid-COPY, say) is not handed out again.
        client.release(failed);
      }
    },
    close: () => pool.end(),
  };
}
