/** Result of reading a JSON editor's text; `detail` is the parser's own message. */
export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: 'syntax' | 'notObject'; detail: string };

/** Parses an editor's text as a JSON object; empty text is `{}`. */
export function parseJsonObject(text: string): JsonObjectResult {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'syntax', detail: e instanceof Error ? e.message : String(e) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'notObject', detail: '' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** Pretty text of an object for an editor; `{}` shows as empty. */
export function toJsonText(value: Record<string, unknown>): string {
  return Object.keys(value).length === 0 ? '' : JSON.stringify(value, null, 2);
}
