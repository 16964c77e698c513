/**
 * A string needs `JSON.stringify`'s escaping: a quote, a backslash, a control character, or a surrogate (a lone one
 * becomes `\udxxx`; a pair is left to the stringifier too, which keeps it).
 */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Whether `JSON.stringify` would write more than the string between quotes (see {@link jsonString}). */
export function needsJsonEscape(s: string): boolean {
  return NEEDS_ESCAPE.test(s);
}

/** A string as JSON text: `"${s}"` when nothing in it needs escaping, else `JSON.stringify`'s text. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
