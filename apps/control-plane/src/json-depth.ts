/** How deep admin request bodies may nest objects and arrays. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests objects and arrays deeper than `max`. A linear scan of the brackets outside strings,
 * run before `JSON.parse`: deep nesting parses fine but overflows the stack of whatever walks it next (zod,
 * JSON.stringify), which answered 500 where the client's mistake deserves a 400. Invalid JSON may pass; the
 * parser refuses it.
 */
export function jsonNestingExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}
