const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Masks a secret for display: `sk-ab…9f3c`. Short secrets show less; nothing under 8 characters is shown
 * at all (GPT-Load left such keys unmasked).
 */
export function maskSecret(secret: string): string {
  // By code points, so an emoji is never cut in half (PostgreSQL and MySQL refuse lone surrogates). Keys are ASCII
  // in practice, and slicing the string itself is much cheaper (this runs for every proxied request).
  const chars = SURROGATE.test(secret) ? Array.from(secret) : secret;
  const cut = (from: number, to?: number): string => {
    const part = chars.slice(from, to);
    return typeof part === 'string' ? part : part.join('');
  };
  const n = chars.length;
  if (n >= 16) return `${cut(0, 5)}…${cut(-4)}`;
  if (n >= 10) return `${cut(0, 2)}…${cut(-2)}`;
  return '…'.padStart(Math.min(n, 3) + 1, '*');
}

/**
 * Replaces every occurrence of each secret in `text` by its mask, in the forms an echo takes: as is, URL-encoded
 * (a query string) and JSON-escaped (a secret with a quote or backslash inside an error body).
 */
export function redactSecrets(text: string, secrets: Iterable<string | null | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    if (out.includes(s)) out = out.split(s).join(maskSecret(s));
    const enc = encodeURIComponent(s);
    if (enc !== s && out.includes(enc)) out = out.split(enc).join(maskSecret(s));
    const json = JSON.stringify(s).slice(1, -1);
    // The mask escaped alike, so the JSON stays valid when the secret's first characters include a quote.
    if (json !== s && out.includes(json))
      out = out.split(json).join(JSON.stringify(maskSecret(s)).slice(1, -1));
  }
  return out;
}

const KEY_PARAM = /([?&](?:key|api[_-]?key|access_token)=)[^&#\s"']+/gi;
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const KNOWN_KEY =
  /\b(sk-(?:ant-)?[A-Za-z0-9_-]{6})[A-Za-z0-9_-]{8,}([A-Za-z0-9_-]{4})\b|\b(AIza[0-9A-Za-z_-]{2})[0-9A-Za-z_-]{20,}([0-9A-Za-z_-]{4})\b/g;

/** Best-effort scrub of key-looking material (query keys, bearer tokens, provider key formats) from text. */
export function scrubKeyMaterial(text: string): string {
  return text
    .replace(KEY_PARAM, '$1[redacted]')
    .replace(BEARER, '$1[redacted]')
    .replace(
      KNOWN_KEY,
      (_m, a?: string, b?: string, c?: string, d?: string) => `${a ?? c ?? ''}…${b ?? d ?? ''}`,
    );
}
