/**
 * Reads a top-level-looking string field from a JSON body without parsing it: the first `"name": "value"`
 * whose opening quote is not escaped. Bodies are often large (long chat histories) and the gateway must not
 * parse them on the hot path just to log the model.
 */
export function peekJsonString(body: Buffer | null, name: string, limit = 64 * 1024): string | null {
  if (!body || body.length === 0) return null;
  const text = body.toString('utf8', 0, Math.min(body.length, limit));
  const needle = `"${name}"`;
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return null;
    from = at + needle.length;
    if (at > 0 && text.charCodeAt(at - 1) === 92 /* \ */) continue;
    const m = /^\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text.slice(from, from + 600));
    if (m) return m[1] ?? null;
  }
}

/** Whether a JSON body has `"name": true` (same cheap scan as `peekJsonString`). */
export function peekJsonTrue(body: Buffer | null, name: string, limit = 64 * 1024): boolean {
  if (!body || body.length === 0) return false;
  const text = body.toString('utf8', 0, Math.min(body.length, limit));
  const needle = `"${name}"`;
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return false;
    from = at + needle.length;
    if (at > 0 && text.charCodeAt(at - 1) === 92) continue;
    if (/^\s*:\s*true\b/.test(text.slice(from, from + 20))) return true;
  }
}

/** First value of a header. */
export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the query string has `name=true`. */
export function queryFlag(query: string, name: string): boolean {
  if (!query.includes(name)) return false;
  return new URLSearchParams(query).get(name) === 'true';
}

/** Reads a number field from an object-like value. */
export function num(obj: unknown, key: string): number | null {
  if (typeof obj !== 'object' || obj === null) return null;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Reads an object field from an object-like value. */
export function field(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  return (obj as Record<string, unknown>)[key];
}
