/** A proxied request target split once: the group it names, and the rest exactly as the client encoded it. */
export interface ProxyTarget {
  /** The group segment, percent-decoded (`%6bqf7tbo` names group `kqf7tbo`). */
  group: string;
  /** Everything after the group segment up to `?`, byte for byte (at least `/`). */
  path: string;
  /** The raw query without `?` ('' when none). */
  query: string;
  /** Why the path or query cannot be forwarded as sent (then `path`/`query` are not to be used). */
  invalid: string | null;
}

const PREFIX = '/proxy/';
const SLASH = 0x2f;
const QUERY = 0x3f;
const PERCENT = 0x25;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const HASH = 0x23;

/**
 * Parses a `/proxy/{group}/…` request target with index arithmetic (no `new URL`: this runs for every request).
 * Returns null when the target is not a proxy target at all or names no decodable group (the caller answers 404).
 *
 * What is refused (`invalid`), where nginx, Envoy and Go's net/http would each normalise differently — and a
 * gateway that normalises one way while the upstream decodes another is how path confusion happens:
 * - absolute-form (`POST http://host/proxy/…`) whose authority is not this gateway's `Host` (RFC 9112 §3.2.2 says
 *   a server must ignore Host then; a gateway that silently did would act as an open forward proxy);
 * - `.` and `..` segments, also percent-encoded (`%2e%2e`) or delimited by an encoded slash (`..%2f`);
 * - NUL and other control characters, encoded or not; backslashes (`\`, `%5c`), which Windows-style servers
 *   treat as separators; `#`; bytes outside printable ASCII; malformed `%` escapes.
 */
export function parseProxyTarget(raw: string, host: string | undefined): ProxyTarget | null {
  const origin = originForm(raw, host);
  if (!origin) return null;
  const { start } = origin;
  let invalid = origin.invalid;
  if (!raw.startsWith(PREFIX, start)) return null;
  const groupStart = start + PREFIX.length;
  let groupEnd = groupStart;
  let escaped = false;
  for (; groupEnd < raw.length; groupEnd++) {
    const c = raw.charCodeAt(groupEnd);
    if (c === SLASH || c === QUERY) break;
    if (c === PERCENT) escaped = true;
  }
  let group = raw.slice(groupStart, groupEnd);
  if (escaped) {
    try {
      group = decodeURIComponent(group);
    } catch {
      return null;
    }
  }
  if (group.length === 0) return null;
  const q = raw.indexOf('?', groupEnd);
  const pathEnd = q < 0 ? raw.length : q;
  const path = groupEnd === pathEnd ? '/' : raw.slice(groupEnd, pathEnd);
  const query = q < 0 ? '' : raw.slice(q + 1);
  invalid ??= pathProblem(raw, groupEnd, pathEnd) ?? queryProblem(raw, pathEnd + 1);
  return { group, path, query, invalid };
}

/** A request target at the gateway root (key-routed endpoints): the path and query exactly as the client encoded them. */
export interface RootTarget {
  /** The path up to `?`, byte for byte. */
  path: string;
  /** The raw query without `?` ('' when none). */
  query: string;
  /** Why the path or query cannot be forwarded as sent (then `path`/`query` are not to be used). */
  invalid: string | null;
}

/**
 * Parses a root request target (`/v1/chat/completions?…`) with the same refusals as {@link parseProxyTarget}; null
 * when it is neither origin-form nor absolute-form.
 */
export function parseRootTarget(raw: string, host: string | undefined): RootTarget | null {
  const origin = originForm(raw, host);
  if (!origin) return null;
  const { start } = origin;
  const q = raw.indexOf('?', start);
  const pathEnd = q < 0 ? raw.length : q;
  const path = raw.slice(start, pathEnd);
  const query = q < 0 ? '' : raw.slice(q + 1);
  const invalid = origin.invalid ?? pathProblem(raw, start, pathEnd) ?? queryProblem(raw, pathEnd + 1);
  return { path, query, invalid };
}

/** Where the path of a request target starts (after an absolute-form authority), or -1 when it has none. */
export function targetPathStart(raw: string): number {
  return originForm(raw, undefined)?.start ?? -1;
}

/**
 * Where the path of a target starts: at 0 for origin-form, after the authority for absolute-form (then `invalid`
 * says so unless the authority is this gateway's `Host`). Null when it is neither.
 */
function originForm(raw: string, host: string | undefined): { start: number; invalid: string | null } | null {
  if (raw.charCodeAt(0) === SLASH) return { start: 0, invalid: null };
  const authority = absoluteAuthority(raw);
  if (authority === null) return null;
  const start = raw.indexOf('/', authority.end);
  if (start < 0) return null;
  const named = host !== undefined && authority.value.toLowerCase() === host.toLowerCase();
  return { start, invalid: named ? null : 'absolute-form request target does not name this gateway' };
}

/** `http://authority` or `https://authority` (case-insensitive scheme): the authority and where it ends. */
function absoluteAuthority(raw: string): { value: string; end: number } | null {
  const lower = raw.slice(0, 8).toLowerCase();
  const begin = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (begin < 0) return null;
  let end = begin;
  while (end < raw.length) {
    const c = raw.charCodeAt(end);
    if (c === SLASH || c === QUERY || c === HASH) break;
    end++;
  }
  return { value: raw.slice(begin, end), end };
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** The byte a `%XY` at `i` stands for, or -1 when malformed. */
function escapedByte(raw: string, i: number): number {
  const hi = hex(raw.charCodeAt(i + 1));
  const lo = hex(raw.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/**
 * One pass over the path: each character checked, each segment's dot count tracked (an encoded dot counts as a
 * dot, an encoded slash as a segment boundary).
 */
function pathProblem(raw: string, from: number, to: number): string | null {
  let dots = 0;
  let other = false;
  for (let i = from; i <= to; i++) {
    let c = i === to ? SLASH : raw.charCodeAt(i);
    if (c === PERCENT) {
      c = escapedByte(raw, i);
      if (c < 0) return 'malformed percent-escape in the path';
      if (c < 0x20 || c === 0x7f) return 'control character (NUL, CR, LF …) in the path';
      if (c === BACKSLASH) return 'backslash in the path';
      i += 2;
      if (c === DOT) {
        dots++;
        continue;
      }
      if (c !== SLASH) {
        other = true;
        continue;
      }
    } else if (c <= 0x20 || c >= 0x7f) return 'character outside printable ASCII in the path';
    else if (c === BACKSLASH) return 'backslash in the path';
    else if (c === HASH) return 'fragment in the request target';
    if (c === SLASH) {
      if (!other && (dots === 1 || dots === 2)) return "'.' or '..' segment in the path";
      dots = 0;
      other = false;
    } else if (c === DOT) dots++;
    else other = true;
  }
  return null;
}

function queryProblem(raw: string, from: number): string | null {
  for (let i = from; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return 'character outside printable ASCII in the query';
    if (c === HASH) return 'fragment in the request target';
    if (c === PERCENT) {
      const b = escapedByte(raw, i);
      if (b === 0) return 'NUL in the query';
      if (b >= 0) i += 2;
    }
  }
  return null;
}
