/** Milliseconds as the three digits an ISO timestamp shows. */
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** The last second formatted: its `YYYY-MM-DDTHH:MM:SS.` prefix. */
let second = Number.NaN;
let prefix = '';
/** Past 9999-12-31 `toISOString` switches to six-digit years: such times take the slow path. */
const LAST_FOUR_DIGIT_MS = 253_402_300_800_000;

/**
 * `new Date(ms).toISOString()`, with the date and time of day formatted once per second: every request record
 * carries its start time, and formatting a `Date` was ~1% of the gateway's main thread. Same output for every
 * input, throwing the same `RangeError` for an invalid time.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < LAST_FOUR_DIGIT_MS)) return new Date(ms).toISOString();
  const whole = Math.floor(ms);
  const s = Math.floor(whole / 1000);
  if (s !== second) {
    prefix = new Date(s * 1000).toISOString().slice(0, 20);
    second = s;
  }
  return prefix + MILLIS[whole - s * 1000]! + 'Z';
}
