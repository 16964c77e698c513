import type { HeaderMap, UpstreamTarget } from './provider';

/** A header a credential travels in; with a scheme the value is `{scheme} {key}` (`Authorization: Bearer …`). */
export interface CredentialHeader {
  /** Lower-case header name. */
  name: string;
  scheme?: string;
}

/** Everywhere a channel's clients and upstream carry a credential. */
export interface CredentialSlots {
  headers: readonly CredentialHeader[];
  /** Query parameters (Gemini's `?key=`). */
  query: readonly string[];
}

/** Every registered channel's slots, in registration order (the order a proxy key is looked for in). */
const headerSlots: CredentialHeader[] = [];
const headerNames = new Set<string>();
const queryNames: string[] = [];

/**
 * Adds a channel's slots to the ones every request is cleaned of and read for the proxy key. The registry calls
 * it for each provider it holds: a client's credential of *any* channel is the proxy key and must never reach an
 * upstream.
 */
export function registerCredentialSlots(slots: CredentialSlots): void {
  for (const h of slots.headers) {
    const name = h.name.toLowerCase();
    if (!headerSlots.some((s) => s.name === name && s.scheme === h.scheme))
      headerSlots.push({ name, scheme: h.scheme });
    headerNames.add(name);
  }
  for (const q of slots.query) if (!queryNames.includes(q)) queryNames.push(q);
}

/** Every registered channel's credential header names (lower-case), e.g. for log redaction. */
export function credentialHeaderNames(): string[] {
  return [...headerNames];
}

/** Whether a (lower-case) request header carries a credential in some channel. */
export function isCredentialHeader(name: string): boolean {
  return headerNames.has(name);
}

/**
 * Places `key` in `slot` after removing every other credential header (in any letter case). The gateway already
 * drops the client's, but a provider must not rely on that: a stale second credential makes some upstreams pick
 * the wrong one, and it would leak the proxy key upstream.
 */
export function setCredential(headers: HeaderMap, slot: CredentialHeader, key: string): void {
  for (const h of Object.keys(headers)) {
    if (headerNames.has(h.toLowerCase())) delete headers[h];
  }
  headers[slot.name] = slot.scheme ? `${slot.scheme} ${key}` : key;
}

function paramName(part: string): string | null {
  try {
    return decodeURIComponent((part.split('=', 1)[0] ?? '').replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The target without credential query parameters (e.g. Gemini's `?key=`); other bytes kept as sent. */
export function withoutQueryCredentials(target: UpstreamTarget): UpstreamTarget {
  if (target.query === '') return target;
  const parts = target.query.split('&');
  const kept = parts.filter((p) => {
    const name = paramName(p);
    return name === null || !queryNames.includes(name);
  });
  return kept.length === parts.length ? target : { ...target, query: kept.join('&') };
}

function hasParam(query: string, name: string): boolean {
  return query.startsWith(`${name}=`) || query.includes(`&${name}=`);
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The proxy key a client presented in any channel's slot: a credential query parameter first (removed from the
 * returned query, so it never travels upstream), then the headers in registration order.
 */
export function extractProxyKey(
  headers: Record<string, string | string[] | undefined>,
  query: string,
): { key: string | null; query: string } {
  if (query.length > 0) {
    const present = queryNames.filter((n) => hasParam(query, n));
    if (present.length > 0) {
      const params = new URLSearchParams(query);
      const key = present.map((n) => params.get(n)).find((v) => v);
      for (const n of present) params.delete(n);
      if (key) return { key, query: params.toString() };
    }
  }
  for (const slot of headerSlots) {
    const value = firstValue(headers[slot.name]);
    if (!value) continue;
    if (!slot.scheme) return { key: value, query };
    const prefix = `${slot.scheme} `;
    if (value.length > prefix.length && value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase())
      return { key: value.slice(prefix.length).trim(), query };
  }
  return { key: null, query };
}
