import { z } from 'zod';
import type { RequestLogRecord } from './logs';
import { requestLogRecordSchema } from './logs';

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

/** A record's {@link LogRow}. */
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
    r.keyMasked,
    r.proxyKeyMasked,
    r.model,
    r.statusCode,
    r.success,
    r.durationMs,
    r.ttfbMs,
    r.stream,
    r.retries,
    r.attempts,
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

/** A row under other columns (a producer of another version): its values by name. */
function fromRow(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) record[columns[i]!] = row[i];
  return record;
}

/** A row in {@link LOG_COLUMNS} order (what this version sends) as a record, unchecked: one literal shape. */
function fromOwnRow(v: readonly unknown[]): Record<string, unknown> {
  // prettier-ignore
  return {
    id: v[0], requestId: v[1], time: v[2], groupId: v[3], groupName: v[4], parentGroupId: v[5],
    parentGroupName: v[6], keyId: v[7], keyMasked: v[8], proxyKeyMasked: v[9], model: v[10], statusCode: v[11],
    success: v[12], durationMs: v[13], ttfbMs: v[14], stream: v[15], retries: v[16], attempts: v[17], error: v[18],
    clientIp: v[19], requestPath: v[20], promptTokens: v[21], completionTokens: v[22], cachedTokens: v[23],
    costUsd: v[24], accessKeyId: v[25], accessKeyName: v[26], translatedFrom: v[27], requestBody: v[28],
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
  .transform(({ columns, rows }, ctx) => {
    const ours = columns.length === LOG_COLUMNS.length && columns.every((c, i) => c === LOG_COLUMNS[i]);
    const records: Record<string, unknown>[] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== columns.length) {
        ctx.issues.push({
          code: 'custom',
          message: `row ${r} is not a list of ${columns.length} values, one per column`,
          input: row,
          path: ['rows', r],
        });
        return z.NEVER;
      }
      records.push(ours ? fromOwnRow(row) : fromRow(columns, row));
    }
    return records;
  })
  .pipe(z.array(requestLogRecordSchema));
