import type { HeaderMap, UpstreamTarget } from './provider';

/** Every header an upstream reads a credential from. */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key'] as const;

/** A credential header name. */
export type CredentialHeader = (typeof CREDENTIAL_HEADERS)[number];

const credentialNames = new Set<string>(CREDENTIAL_HEADERS);

/**
 * Sets `name` to `value` after removing every other credential header (in any letter case). The gateway already
 * drops the client's, but a provider must not rely on that: a stale second credential makes some upstreams pick
 * the wrong one, and it would leak the proxy key upstream.
 */
export function setCredential(headers: HeaderMap, name: CredentialHeader, value: string): void {
  for (const h of Object.keys(headers)) {
    if (credentialNames.has(h.toLowerCase())) delete headers[h];
  }
  headers[name] = value;
}

/** The target without a `key` query parameter (Gemini's other credential slot); other bytes kept as sent. */
export function withoutQueryKey(target: UpstreamTarget): UpstreamTarget {
  if (target.query === '') return target;
  const parts = target.query.split('&');
  const kept = parts.filter((p) => {
    const name = p.split('=', 1)[0] ?? '';
    try {
      return decodeURIComponent(name.replace(/\+/g, ' ')) !== 'key';
    } catch {
      return true;
    }
  });
  return kept.length === parts.length ? target : { ...target, query: kept.join('&') };
}
