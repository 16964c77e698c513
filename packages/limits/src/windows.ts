/**
 * Window arithmetic shared by both counter adapters: where a calendar period (day, month, total) starts and ends,
 * and the storage name of a rule's counter. Pure functions of an instant, so tests pass any time they like.
 */
import type { LimitRule, Window } from './types';

/** Length of the sliding `minute` window. */
export const MINUTE_MS = 60_000;

const zoneFormats = new Map<string, Intl.DateTimeFormat>();
const unknownZones = new Set<string>();

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(timeZone, f);
  }
  return f;
}

/** The wall-clock date and time in `timeZone` at instant `t`, as if that wall clock were UTC (ms). */
function wallClock(t: number, timeZone: string): { y: number; m: number; d: number; wall: number } {
  const parts: Record<string, number> = {};
  for (const p of zoneFormat(timeZone).formatToParts(t)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const y = parts.year ?? 1970;
  const m = (parts.month ?? 1) - 1;
  const d = parts.day ?? 1;
  const wall = Date.UTC(y, m, d, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return { y, m, d, wall };
}

/** Offset of `timeZone` from UTC at instant `t` (ms, e.g. -7 h in Pacific daylight time). */
function zoneOffset(t: number, timeZone: string): number {
  const second = Math.floor(t / 1000) * 1000;
  return wallClock(second, timeZone).wall - second;
}

/**
 * The instant the wall clock of `timeZone` reads 00:00 on the given local date. The offset is looked up at the
 * guess itself (twice), because the offset at midnight can differ from the offset later that day (DST).
 */
function zoneMidnight(y: number, m: number, d: number, timeZone: string, hint: number): number {
  const local = Date.UTC(y, m, d);
  let guess = local - zoneOffset(hint, timeZone);
  for (let i = 0; i < 2; i++) guess = local - zoneOffset(guess, timeZone);
  return guess;
}

/** Start and end (epoch ms) of the calendar period of `window` that contains `t`; `total` spans everything. */
export function periodBounds(
  window: Exclude<Window, 'minute'>,
  t: number,
  timeZone?: string,
): { start: number; end: number } {
  if (window === 'total') return { start: 0, end: Infinity };
  if (window === 'month') {
    const date = new Date(t);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth();
    return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
  // An unknown zone counts in UTC rather than throwing on the hot path (the API validates zones on input).
  if (!timeZone || timeZone === 'UTC' || !isValidTimeZone(timeZone)) {
    const start = Math.floor(t / 86_400_000) * 86_400_000;
    return { start, end: start + 86_400_000 };
  }
  const { y, m, d } = wallClock(t, timeZone);
  return { start: zoneMidnight(y, m, d, timeZone, t), end: zoneMidnight(y, m, d + 1, timeZone, t) };
}

/** Whether `timeZone` is a zone `Intl` knows (a rule with an unknown zone would throw on the hot path). */
export function isValidTimeZone(timeZone: string): boolean {
  if (unknownZones.has(timeZone)) return false;
  try {
    zoneFormat(timeZone);
    return true;
  } catch {
    if (unknownZones.size < 1000) unknownZones.add(timeZone);
    return false;
  }
}

/**
 * Zoned keys made so far, by zone and name: a key built per lookup is a new string that every counter Map hashes
 * again (several lookups per admitted request). Bounded: zones and rule names are few, but come from config.
 */
const zonedKeys = new Map<string, Map<string, string>>();
const MAX_ZONED_KEYS = 1000;
let zonedKeyCount = 0;

/** The storage name of a rule's counter: its name, plus the zone of a zoned day window. */
export function ruleKey(rule: LimitRule): string {
  const { timeZone, name } = rule;
  if (!timeZone || rule.window !== 'day') return name;
  let byName = zonedKeys.get(timeZone);
  let key = byName?.get(name);
  if (key !== undefined) return key;
  key = `${name}@${timeZone}`;
  if (zonedKeyCount >= MAX_ZONED_KEYS) {
    zonedKeys.clear();
    zonedKeyCount = 0;
    byName = undefined;
  }
  if (!byName) {
    byName = new Map();
    zonedKeys.set(timeZone, byName);
  }
  byName.set(name, key);
  zonedKeyCount++;
  return key;
}

/**
 * What a finished request adds to a `tokens` or `cost` rule (0 for `requests` rules, which count on admission).
 * A negative, NaN or infinite figure from a misbehaving upstream adds nothing rather than undoing usage.
 */
export function recordedAmount(rule: LimitRule, usage: { tokens: number; costUsd: number }): number {
  const v = rule.measure === 'tokens' ? usage.tokens : rule.measure === 'cost' ? usage.costUsd : 0;
  return Number.isFinite(v) && v > 0 ? v : 0;
}
