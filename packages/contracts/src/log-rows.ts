import { z } from 'zod';
import type { Attempt, RequestLogRecord } from './logs';
import { failureClassSchema, requestLogRecordSchema } from './logs';

/**
 * Every field of a request-log record, in the order rows carry their values (the SQLite writer binds its insert in
 * this order too).
 */
export const LOG_COLUMNS = [
  'id',
  'requestId',
  'time',
  'groupId',
  'groupName',
  'parentGroupId',
  'parentGroupName',
  'keyId',
  'keyMasked',
  'proxyKeyMasked',
  'model',
  'statusCode',
  'success',
  'durationMs',
  'ttfbMs',
  'stream',
  'retries',
  'attempts',
  'error',
  'clientIp',
  'requestPath',
  'promptTokens',
  'completionTokens',
  'cachedTokens',
  'costUsd',
  'accessKeyId',
  'accessKeyName',
  'translatedFrom',
  'requestBody',
] as const satisfies readonly (keyof RequestLogRecord)[];

/** Fails to compile when a record field has no column (a row would lose it). */
type Uncovered = Exclude<keyof RequestLogRecord, (typeof LOG_COLUMNS)[number]>;
const everyFieldHasAColumn: [Uncovered] extends [never] ? true : Uncovered = true;
void everyFieldHasAColumn;

type ValuesOf<C extends readonly (keyof RequestLogRecord)[]> = {
  -readonly [I in keyof C]: RequestLogRecord[C[I] & keyof RequestLogRecord];
};

/**
 * A request-log record as its values in {@link LOG_COLUMNS} order: how records travel in bulk (to the SQLite
 * writer's thread, and in the gateway's log jobs). As JSON a row carries no property names: about half the text
 * of the record, so half the work to stringify, copy, send and parse per logged request.
 */
export type LogRow = ValuesOf<typeof LOG_COLUMNS>;

/**
 * The mask's ellipsis (U+2026, `sk-ab…9f3c`) as rows carry it. That one character made the JSON text of every batch
 * a two-byte string in V8: twice the bytes to stringify, copy, measure, send and parse, and a batch of a few hundred
 * rows past V8's largest regular object (128 KiB), so each was allocated in fresh pages of its own, one page fault
 * per 4 KiB (a micro-benchmark of a 500-row log job's text on its way to Redis: ~9 µs per row, of which ~3.6 in
 * the kernel's page faults; ~1.5 µs with this and jobs below that size). U+0001 in its place is written by JSON as
 * the six ASCII characters `\u0001`, so the row of a typical request is ASCII from end to end. Only the masks
 * Keyway makes carry it (keyMasked, proxyKeyMasked, an attempt's key and proxy), and every reader of rows
 * ({@link logRowsSchema}, the SQLite writer's insert) puts the ellipsis back: what is stored is unchanged. A
 * secret holding U+0001 next to its masked middle would read back with `…` there; a mask shows a secret's ends
 * only, and U+0001 is not part of any provider's key format.
 */
export const ROW_ELLIPSIS = '\u0001';

const ELLIPSIS = '\u2026';
/** Masks kept per replacer: there are as many as keys in use. */
const MASKS_KEPT = 4096;
/** Longer texts are rebuilt each time (masks are short; this keeps the replacers' memory small). */
const KEPT_MASK_MAX_LENGTH = 128;

/**
 * Replaces one character of masks, each `from` by `to`, keeping each mask's result (bounded): the mask forms rows
 * and COPY text carry, and the way back. Built character by character from one-byte pieces, so the result is
 * one-byte in V8 when `to` and the rest are (a slice of a two-byte string stays two-byte). Text without `from`
 * comes back as it is.
 */
export function maskCharReplacer(from: string, to: string): (text: string) => string {
  const code = from.charCodeAt(0);
  const kept = new Map<string, string>();
  return (text) => {
    if (!text.includes(from)) return text;
    const known = kept.get(text);
    if (known !== undefined) return known;
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      out += c === code ? to : String.fromCharCode(c);
    }
    if (text.length <= KEPT_MASK_MAX_LENGTH) {
      if (kept.size >= MASKS_KEPT) kept.clear();
      kept.set(text, out);
    }
    return out;
  };
}

/** A mask as rows carry it: its ellipsis as {@link ROW_ELLIPSIS}, one-byte in V8. */
const rowMask = maskCharReplacer(ELLIPSIS, ROW_ELLIPSIS);
/**
 * The way back. Kept per mask: a `replaceAll` per mask (three per record) was a quarter of reading a log job's rows,
 * most of it garbage.
 */
const restoreMask = maskCharReplacer(ROW_ELLIPSIS, ELLIPSIS);

/** A mask as a row carried it, with its ellipsis back (any other value as it is). */
export function maskFromRow<T>(value: T): T {
  return (typeof value === 'string' ? restoreMask(value) : value) as T;
}

/** A record's attempts as a row carries them: a copy of each whose key or proxy mask changes. */
function rowAttempts(attempts: Attempt[]): Attempt[] {
  let out = attempts;
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i]!;
    const key = a.key === null ? null : rowMask(a.key);
    const proxy = a.proxy === undefined ? undefined : rowMask(a.proxy);
    if (key === a.key && proxy === a.proxy) continue;
    if (out === attempts) out = attempts.slice();
    // Field by field in the schema's order (a test checks that no field of the schema is left out).
    const copy: Attempt = {
      keyId: a.keyId,
      key,
      upstreamUrl: a.upstreamUrl,
      statusCode: a.statusCode,
      class: a.class,
      durationMs: a.durationMs,
      error: a.error,
    };
    if (proxy !== undefined) copy.proxy = proxy;
    if (a.model !== undefined) copy.model = a.model;
    out[i] = copy;
  }
  return out;
}

/**
 * Attempts as a row carried them, their masks back in place: the parsed objects are changed (they are the
 * reader's own). Anything but a list of objects is left for the schema to refuse.
 */
export function attemptsFromRow<T>(attempts: T): T {
  if (!Array.isArray(attempts)) return attempts;
  for (const a of attempts as unknown[]) {
    if (typeof a !== 'object' || a === null) continue;
    const o = a as { key?: unknown; proxy?: unknown };
    if (typeof o.key === 'string') o.key = maskFromRow(o.key);
    if (typeof o.proxy === 'string') o.proxy = maskFromRow(o.proxy);
  }
  return attempts;
}

/** A record's {@link LogRow}, its masks as {@link ROW_ELLIPSIS} says. */
export function toLogRow(r: RequestLogRecord): LogRow {
  return [
    r.id,
    r.requestId,
    r.time,
    r.groupId,
    r.groupName,
    r.parentGroupId,
    r.parentGroupName,
    r.keyId,
    r.keyMasked === null ? null : rowMask(r.keyMasked),
    r.proxyKeyMasked === null ? null : rowMask(r.proxyKeyMasked),
    r.model,
    r.statusCode,
    r.success,
    r.durationMs,
    r.ttfbMs,
    r.stream,
    r.retries,
    rowAttempts(r.attempts),
    r.error,
    r.clientIp,
    r.requestPath,
    r.promptTokens,
    r.completionTokens,
    r.cachedTokens,
    r.costUsd,
    r.accessKeyId,
    r.accessKeyName,
    r.translatedFrom,
    r.requestBody,
  ];
}

/**
 * Records as rows under their column names: the form of a log batch between processes. A reader maps values by
 * the names it is sent, not by position, so a producer of another version (a column added or moved) is read right.
 */
export interface LogRows {
  columns: string[];
  rows: unknown[][];
}

const COLUMN_NAMES: string[] = [...LOG_COLUMNS];

/** Records as {@link LogRows} (the column list is shared: nothing mutates it). */
export function logRowsOf(records: readonly RequestLogRecord[]): LogRows {
  return { columns: COLUMN_NAMES, rows: records.map(toLogRow) };
}

/**
 * A record's {@link LogRow} as JSON text, made when the record is finished: what then waits for the next batch is
 * one flat string per request, not the record's object graph (the record, its attempts, their strings), and the
 * record dies young. Waiting records outlive V8's young-generation collections (a scavenge every few hundred
 * requests under load), each of which copies them. Lab, standalone with logging on under the same load, main
 * isolate (`--trace-gc-nvp`): bytes surviving scavenges over those of logging off, 764 → 587 per request, promoted
 * 148 → 105.
 */
export function logRowText(record: RequestLogRecord): string {
  return JSON.stringify(toLogRow(record));
}

/**
 * The JSON text of {@link LogRows} is this, then its rows as a JSON array of texts made by {@link logRowText}
 * (`[row,row,…]`), then {@link LOG_ROWS_JSON_TAIL}: a producer that keeps rows as bytes (the distributed gateway's
 * row batches) sends a batch as these three pieces, never as one string.
 */
export const LOG_ROWS_JSON_HEAD = `{"columns":${JSON.stringify(COLUMN_NAMES)},"rows":`;
export const LOG_ROWS_JSON_TAIL = '}';

/** A row under other columns (a producer of another version): its values by name. */
function fromRow(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) record[columns[i]!] = row[i];
  record.keyMasked = maskFromRow(record.keyMasked);
  record.proxyKeyMasked = maskFromRow(record.proxyKeyMasked);
  attemptsFromRow(record.attempts);
  return record;
}

// The checks of `requestLogRecordSchema`, written out for the rows this version sends (zod's parse of each record was
// ~11% of the worker's CPU under load, more than reading the job's JSON). A test holds them to the schema.
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
/** zod's `z.number()`: finite. */
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);
/** zod's `.int()`: a safe integer. */
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const FAILURE_CLASSES: ReadonlySet<unknown> = new Set(failureClassSchema.options);

/** An attempt as the row carried it, checked as `attemptSchema` checks it (unknown fields left out), masks back. */
function attemptFromRow(a: unknown): Attempt | string {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return 'is not an object';
  const o = a as Record<string, unknown>;
  const { keyId, key, upstreamUrl, statusCode, durationMs, error, proxy, model } = o;
  if (!isIntOrNull(keyId)) return 'keyId';
  if (!isStrOrNull(key)) return 'key';
  if (!isStr(upstreamUrl)) return 'upstreamUrl';
  if (!isInt(statusCode)) return 'statusCode';
  if (!FAILURE_CLASSES.has(o.class)) return 'class';
  if (!isNum(durationMs)) return 'durationMs';
  if (!isStrOrNull(error)) return 'error';
  if (proxy !== undefined && !isStr(proxy)) return 'proxy';
  if (model !== undefined && !isStr(model)) return 'model';
  // Field by field in the schema's order, as its parse writes them.
  const out: Attempt = {
    keyId,
    key: key === null ? null : maskFromRow(key),
    upstreamUrl,
    statusCode,
    class: o.class as Attempt['class'],
    durationMs,
    error,
  };
  if (proxy !== undefined) out.proxy = maskFromRow(proxy);
  if (model !== undefined) out.model = model;
  return out;
}

/**
 * A row in {@link LOG_COLUMNS} order (what this version sends) as a record, checked value by value as
 * `requestLogRecordSchema` checks it; a string names the field that is wrong.
 */
function fromOwnRow(v: readonly unknown[]): RequestLogRecord | string {
  // Read by index (destructuring an array goes through its iterator).
  const id = v[0];
  const requestId = v[1];
  const time = v[2];
  const groupId = v[3];
  const groupName = v[4];
  const parentGroupId = v[5];
  const parentGroupName = v[6];
  const keyId = v[7];
  const keyMasked = v[8];
  const proxyKeyMasked = v[9];
  const model = v[10];
  const statusCode = v[11];
  const success = v[12];
  const durationMs = v[13];
  const ttfbMs = v[14];
  const stream = v[15];
  const retries = v[16];
  const rowAttempts = v[17];
  const error = v[18];
  const clientIp = v[19];
  const requestPath = v[20];
  const promptTokens = v[21];
  const completionTokens = v[22];
  const cachedTokens = v[23];
  const costUsd = v[24];
  const accessKeyId = v[25];
  const accessKeyName = v[26];
  const translatedFrom = v[27];
  const requestBody = v[28];
  if (!isStr(id)) return 'id';
  if (!isStr(requestId)) return 'requestId';
  if (!isStr(time)) return 'time';
  if (!isInt(groupId)) return 'groupId';
  if (!isStr(groupName)) return 'groupName';
  if (!isIntOrNull(parentGroupId)) return 'parentGroupId';
  if (!isStrOrNull(parentGroupName)) return 'parentGroupName';
  if (!isIntOrNull(keyId)) return 'keyId';
  if (!isStrOrNull(keyMasked)) return 'keyMasked';
  if (!isStrOrNull(proxyKeyMasked)) return 'proxyKeyMasked';
  if (!isStrOrNull(model)) return 'model';
  if (!isInt(statusCode)) return 'statusCode';
  if (!isBool(success)) return 'success';
  if (!isNum(durationMs)) return 'durationMs';
  if (!isNumOrNull(ttfbMs)) return 'ttfbMs';
  if (!isBool(stream)) return 'stream';
  if (!isInt(retries)) return 'retries';
  if (!Array.isArray(rowAttempts)) return 'attempts';
  const attempts: Attempt[] = [];
  for (let i = 0; i < rowAttempts.length; i++) {
    const a = attemptFromRow(rowAttempts[i]);
    if (typeof a === 'string') return `attempts[${i}]${a === 'is not an object' ? '' : `.${a}`}`;
    attempts.push(a);
  }
  if (!isStrOrNull(error)) return 'error';
  if (!isStrOrNull(clientIp)) return 'clientIp';
  if (!isStrOrNull(requestPath)) return 'requestPath';
  if (!isIntOrNull(promptTokens)) return 'promptTokens';
  if (!isIntOrNull(completionTokens)) return 'completionTokens';
  if (!isIntOrNull(cachedTokens)) return 'cachedTokens';
  if (!isNumOrNull(costUsd)) return 'costUsd';
  if (!isIntOrNull(accessKeyId)) return 'accessKeyId';
  if (!isStrOrNull(accessKeyName)) return 'accessKeyName';
  if (translatedFrom !== null && translatedFrom !== 'openai' && translatedFrom !== 'anthropic')
    return 'translatedFrom';
  if (!isStrOrNull(requestBody)) return 'requestBody';
  return {
    id,
    requestId,
    time,
    groupId,
    groupName,
    parentGroupName,
    keyId,
    model,
    statusCode,
    success,
    durationMs,
    ttfbMs,
    stream,
    retries,
    attempts,
    error,
    clientIp,
    promptTokens,
    completionTokens,
    cachedTokens,
    costUsd,
    accessKeyId,
    accessKeyName,
    translatedFrom,
    parentGroupId,
    keyMasked: keyMasked === null ? null : maskFromRow(keyMasked),
    proxyKeyMasked: proxyKeyMasked === null ? null : maskFromRow(proxyKeyMasked),
    requestPath,
    requestBody,
  };
}

/** Column names are field names: bounded, and never a prototype's property. */
const columnName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/);

/**
 * {@link LogRows} as JSON carries them, read back into records and validated as records are. A column this reader
 * does not know is left out; a row of another length than the column list, or a record missing a field, is refused.
 */
export const logRowsSchema = z
  .object({
    columns: z.array(columnName).min(1).max(200),
    // Each row is checked below, while it is read: a schema per value cost the worker twice the records' parse.
    rows: z.array(z.unknown()).min(1),
  })
  .transform(({ columns, rows }, ctx): RequestLogRecord[] => {
    const ours = columns.length === LOG_COLUMNS.length && columns.every((c, i) => c === LOG_COLUMNS[i]);
    const records: RequestLogRecord[] = [];
    const refuse = (r: number, message: string, input: unknown) => {
      ctx.issues.push({ code: 'custom', message: `row ${r}: ${message}`, input, path: ['rows', r] });
      return z.NEVER;
    };
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== columns.length)
        return refuse(r, `not a list of ${columns.length} values, one per column`, row);
      if (ours) {
        const record = fromOwnRow(row);
        if (typeof record === 'string') return refuse(r, `${record} is missing or of the wrong type`, row);
        records.push(record);
        continue;
      }
      // Another version's columns: read by name and checked by the schema itself.
      const parsed = requestLogRecordSchema.safeParse(fromRow(columns, row));
      if (!parsed.success) {
        const field = parsed.error.issues[0]?.path.map(String).join('.') ?? '';
        return refuse(r, `${field || 'a field'} is missing or of the wrong type`, row);
      }
      records.push(parsed.data);
    }
    return records;
  });
