// One in-between form for a value on its way from one database to another, so each dialect only has to read
// into it and write from it. DateTime → Date (milliseconds, UTC), Boolean → boolean, Int/Float → number,
// BigInt → bigint, Decimal → string, Json → its JSON text (so SQL NULL and JSON null stay apart), Bytes → Buffer.
import type { CopyColumn, FieldType } from './model';

export type CopyValue = string | number | bigint | boolean | Date | Buffer | null;

/** A row as an array aligned with its model's columns. */
export type CopyRow = CopyValue[];

/** A timestamp without a zone (`2026-12-06 01:31:09.123`, SQLite's CURRENT_TIMESTAMP, MySQL DATETIME). */
const ZONELESS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Parses a stored timestamp; one without a zone is UTC, as Prisma writes them. */
export function parseStoredTime(value: string | number | bigint | Date): Date {
  if (value instanceof Date) return value;
  if (typeof value !== 'string') return new Date(Number(value));
  const text = value.trim();
  const date = new Date(ZONELESS.test(text) ? `${text.replace(' ', 'T')}Z` : text);
  if (Number.isNaN(date.getTime())) throw new Error(`unreadable timestamp "${text.slice(0, 40)}"`);
  // Prisma's columns keep milliseconds; anything finer (PostgreSQL microseconds in a hand-made row) is dropped.
  return date;
}

/** A driver value as text (catalog names, progress records, strings that came back as buffers). */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value) ?? '';
}

/** Turns what a driver returned into the in-between form of `type`. */
export function decodeValue(type: FieldType, raw: unknown): CopyValue {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'DateTime':
      return parseStoredTime(raw as string | number | bigint | Date);
    case 'Boolean':
      if (typeof raw === 'string') return raw === '1' || raw === 't' || raw === 'true';
      return Boolean(Number(raw));
    case 'Int':
    case 'Float':
      return Number(raw);
    case 'BigInt':
      return BigInt(raw as string | number | bigint);
    case 'Json':
      if (Buffer.isBuffer(raw)) return raw.toString('utf8');
      return typeof raw === 'string' ? raw : JSON.stringify(raw);
    case 'Bytes':
      return Buffer.isBuffer(raw) ? raw : Buffer.from(asText(raw));
    case 'Decimal':
    case 'String':
      return asText(raw);
  }
}

/** Decodes a driver row (array) column by column. */
export function decodeRow(columns: readonly CopyColumn[], raw: readonly unknown[]): CopyRow {
  return columns.map((c, i) => decodeValue(c.type, raw[i]));
}

/** `2026-12-06 01:31:09.123`: the UTC wall time PostgreSQL's TIMESTAMP(3) and MySQL's DATETIME(3) store. */
export function utcWallTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** The text form Prisma's SQLite adapter writes (RFC 3339 with an explicit offset). */
export function sqliteTimeText(date: Date): string {
  return date.toISOString().replace('Z', '+00:00');
}

/** Counts values that lost NUL characters on their way into PostgreSQL (it cannot store them in text). */
export interface NulCounter {
  stripped: number;
}

const NUL = '\u0000';

/** Removes NUL characters, which PostgreSQL's text and jsonb reject. */
export function stripNul(text: string, counter: NulCounter): string {
  if (!text.includes(NUL)) return text;
  counter.stripped++;
  return text.replaceAll(NUL, '');
}

/** Removes `\u0000` from the strings (and keys) of a JSON document; jsonb refuses them. */
export function stripJsonNul(json: string, counter: NulCounter): string {
  if (!json.includes('\\u0000')) return json;
  counter.stripped++;
  const clean = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replaceAll(NUL, '');
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replaceAll(NUL, ''), clean(x)]));
    return v;
  };
  return JSON.stringify(clean(JSON.parse(json)));
}

/** JSON text with object keys sorted, so documents compare equal whatever order a database keeps keys in. */
export function canonicalJson(json: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sort(JSON.parse(json)));
}

/**
 * True when two rows hold the same data, allowing for what the copy itself changes: JSON key order and the NUL
 * characters PostgreSQL cannot keep.
 */
export function sameRow(columns: readonly CopyColumn[], a: CopyRow, b: CopyRow): boolean {
  return columns.every((c, i) => sameValue(c.type, a[i] ?? null, b[i] ?? null));
}

function sameValue(type: FieldType, a: CopyValue, b: CopyValue): boolean {
  if (a === null || b === null) return a === b;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (type === 'Json') {
    const strip = (s: CopyValue) => canonicalJson(stripJsonNul(String(s), { stripped: 0 }));
    return strip(a) === strip(b);
  }
  if (typeof a === 'string' && typeof b === 'string') return a.replaceAll(NUL, '') === b.replaceAll(NUL, '');
  return a === b;
}
