/**
 * Column value decoding shared by the three sources: each driver hands back numbers as number/bigint/string,
 * booleans as 0/1 or true/false, JSON as text or already parsed, datetimes as Go-formatted text, naive text or
 * Date. These helpers turn all of them into one shape.
 */
import type { JsonValue } from './types';

/** A row as a driver returns it, by column name. */
export type RawRow = Record<string, unknown>;

/** A number from an integer column (pg returns int8 as text, mariadb as bigint); null for NULL. */
export function toNumberOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Like `toNumberOrNull`, NULL and junk read as `fallback`. */
export function toNumber(v: unknown, fallback = 0): number {
  return toNumberOrNull(v) ?? fallback;
}

/** SQLite stores Go bools as 0/1 (`numeric` affinity, sometimes text `'true'`); MySQL tinyint(1); PG boolean. */
export function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return ['1', 't', 'true'].includes(v.trim().toLowerCase());
  const n = toNumberOrNull(v);
  return n !== null && n !== 0;
}

/** Text or null (Buffers from BLOB-typed legacy columns are decoded as UTF-8). */
export function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A JSON column: parsed when text, as is when the driver already parsed it; throws on malformed text. */
export function toJson(v: unknown): JsonValue | undefined {
  if (v === null || v === undefined) return undefined;
  const text = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null;
  if (text === null) return v as JsonValue;
  if (text.trim() === '') return undefined;
  return JSON.parse(text) as JsonValue;
}

/** True for GPT-Load's "none" JSON values: null, `{}` and `[]`. */
export function isEmptyJson(v: JsonValue | undefined): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

// Go's "2006-01-02 15:04:05.999999999-07:00" (go-sqlite's write format) and its relatives: T or space, optional
// fraction of any length, offset ±HH:MM / ±HHMM / Z, or none (naive).
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses GPT-Load datetime text to a Date (ms precision: the fraction is cut, not rounded, like Go's ns → ms).
 * Naive text (MySQL DATETIME) is read in `naiveZone` (an IANA name; UTC when omitted). Returns null for NULL,
 * '' and Go's zero time.
 */
export function parseGptLoadTime(v: unknown, naiveZone?: string): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  const text = toText(v)?.trim() ?? '';
  const m = DATETIME.exec(text);
  if (!m) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? null : new Date(t);
  }
  const [, y, mo, d, h, mi, s, frac = '', off] = m;
  if (y === '0000' || y === '0001') return null;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (off === undefined) return new Date(wall - zoneOffsetMs(wall, naiveZone));
  if (off.toUpperCase() === 'Z') return new Date(wall);
  const sign = off.startsWith('-') ? -1 : 1;
  const digits = off.slice(1).replace(':', '');
  return new Date(wall - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of instant `d` in IANA `zone` (one cached formatter per zone: building one costs ~1 ms). */
export function wallClock(
  d: Date,
  zone: string,
): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string> {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
  return {
    year: parts.year ?? '',
    month: parts.month ?? '',
    day: parts.day ?? '',
    hour: parts.hour ?? '',
    minute: parts.minute ?? '',
    second: parts.second ?? '',
  };
}

/** Offset of `zone` (ms east of UTC) at the wall-clock time `wallMs` (read as if it were UTC). */
function zoneOffsetMs(wallMs: number, zone: string | undefined): number {
  if (!zone || zone === 'UTC') return 0;
  // Two rounds settle the offset across DST changes: guess the instant, read its wall time, correct.
  let offset = 0;
  for (let i = 0; i < 2; i++) {
    const w = wallClock(new Date(wallMs - offset), zone);
    const asUtc = Date.UTC(
      Number(w.year),
      Number(w.month) - 1,
      Number(w.day),
      Number(w.hour),
      Number(w.minute),
      Number(w.second),
    );
    offset = asUtc - Math.floor((wallMs - offset) / 1000) * 1000;
  }
  return offset;
}
