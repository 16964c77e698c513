/** How deep JSON request bodies may nest objects and arrays (admin API bodies, translated proxy requests). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests objects and arrays deeper than `max`: a linear scan of the brackets outside strings,
 * run before `JSON.parse`. Deep nesting parses, but overflows the stack of whatever walks it next (zod,
 * JSON.stringify) — a 500 for what is the client's mistake — and a megabyte of `[` parses into half a million
 * arrays. Invalid JSON may pass; the parser refuses it.
 *
 * Regular expressions jump to the next significant character natively: a character-by-character loop took
 * ~8× longer on a 60 MiB key import (mostly one long string), and this costs less than the JSON.parse after it.
 */
export function jsonNestingExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  if (openersAtMost(text, max)) return false;
  const outside = /[{}[\]"]/g;
  const inside = /["\\]/g;
  let depth = 0;
  let i = 0;
  for (;;) {
    outside.lastIndex = i;
    if (!outside.test(text)) return false;
    i = outside.lastIndex;
    const ch = text.charCodeAt(i - 1);
    if (ch === 0x22) {
      // A string: on to its closing quote, stepping over escapes (brackets inside do not count).
      for (;;) {
        inside.lastIndex = i;
        if (!inside.test(text)) return false;
        i = inside.lastIndex;
        if (text.charCodeAt(i - 1) === 0x22) break;
        i++;
      }
    } else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else depth--;
  }
}

const OPENERS = ['{', '['] as const;

/**
 * Whether `text` holds at most `max` `{` and `[` in all (strings included): then it cannot nest deeper than `max`,
 * and the scan is skipped. Native searches, at most `max + 1` of them: most request bodies open a few dozen.
 */
function openersAtMost(text: string, max: number): boolean {
  let count = 0;
  for (const opener of OPENERS) {
    for (let i = text.indexOf(opener); i >= 0; i = text.indexOf(opener, i + 1)) {
      if (++count > max) return false;
    }
  }
  return true;
}
