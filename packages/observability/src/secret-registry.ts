import { maskSecret, redactSecrets, scrubKeyMaterial } from '@keyway/core';
import type { SecretClass } from './secret-classes';

/**
 * Values shorter than this are not registered: masking them would mangle ordinary words in every line, and
 * such short values are refused as secrets by `isWeakSecret` anyway.
 */
export const MIN_MASKED_SECRET_LENGTH = 6;

/** Up to this many patterns a plain `indexOf` per pattern beats the rolling-hash scan (measured). */
const SMALL_PATTERN_COUNT = 16;
/** Rolling-hash window; longer windows buy nothing once fingerprints are this selective. */
const MAX_WINDOW = 16;
const HASH_BASE = 0x01000193;

interface Pattern {
  /** The text as it appears in the scanned string. */
  readonly text: string;
  /** What replaces it. */
  readonly mask: string;
}

/** A half-open range of the scanned string to replace by `mask`. */
interface Hit {
  start: number;
  end: number;
  mask: string;
}

/** The body of a JSON string literal for `s`: what `s` looks like inside a serialized log line. */
function jsonEscape(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** A multi-pattern substring finder: Rabin–Karp over a fixed window with a bitset prefilter. */
class Matcher {
  private readonly patterns: Pattern[];
  private readonly window: number;
  private readonly outgoingFactor: number;
  private readonly filter: Uint32Array;
  private readonly filterMask: number;
  private readonly buckets = new Map<number, Pattern[]>();

  constructor(patterns: Pattern[]) {
    // Longest first, so that at one start position the longest pattern wins.
    this.patterns = [...patterns].sort((a, b) => b.text.length - a.text.length);
    const shortest = this.patterns.reduce((m, p) => Math.min(m, p.text.length), MAX_WINDOW);
    this.window = Math.max(1, shortest);
    let f = 1;
    for (let i = 0; i < this.window - 1; i++) f = Math.imul(f, HASH_BASE);
    this.outgoingFactor = f;
    // ~64 filter bits per pattern keeps false positives (each costing a Map lookup) well under 1 %.
    let bits = 1 << 16;
    while (bits < this.patterns.length * 64 && bits < 1 << 24) bits <<= 1;
    this.filter = new Uint32Array(bits >>> 5);
    this.filterMask = bits - 1;
    if (this.patterns.length <= SMALL_PATTERN_COUNT) return;
    for (const p of this.patterns) {
      const h = this.hashPrefix(p.text);
      const slot = this.slot(h);
      this.filter[slot >>> 5] = (this.filter[slot >>> 5] ?? 0) | (1 << (slot & 31));
      const bucket = this.buckets.get(h);
      if (bucket) bucket.push(p);
      else this.buckets.set(h, [p]);
    }
  }

  /** Every occurrence (overlaps included), sorted by start, longest first at one start. */
  find(text: string): Hit[] {
    const hits =
      this.patterns.length <= SMALL_PATTERN_COUNT ? this.findByIndexOf(text) : this.findByHash(text);
    return hits.length > 1 ? hits.sort((a, b) => a.start - b.start || b.end - a.end) : hits;
  }

  private findByIndexOf(text: string): Hit[] {
    const hits: Hit[] = [];
    for (const p of this.patterns) {
      for (let i = text.indexOf(p.text); i >= 0; i = text.indexOf(p.text, i + 1)) {
        hits.push({ start: i, end: i + p.text.length, mask: p.mask });
      }
    }
    return hits;
  }

  private findByHash(text: string): Hit[] {
    const hits: Hit[] = [];
    const n = text.length;
    const w = this.window;
    if (n < w) return hits;
    const filter = this.filter;
    const mask = this.filterMask;
    let h = 0;
    for (let i = 0; i < w; i++) h = (Math.imul(h, HASH_BASE) + text.charCodeAt(i)) | 0;
    for (let s = 0; ; s++) {
      const slot = (Math.imul(h, 0x9e3779b1) >>> 15) & mask;
      if (((filter[slot >>> 5] ?? 0) & (1 << (slot & 31))) !== 0) {
        const bucket = this.buckets.get(h);
        if (bucket) {
          for (const p of bucket) {
            if (text.startsWith(p.text, s)) {
              hits.push({ start: s, end: s + p.text.length, mask: p.mask });
              break;
            }
          }
        }
      }
      if (s + w >= n) break;
      h =
        (Math.imul((h - Math.imul(text.charCodeAt(s), this.outgoingFactor)) | 0, HASH_BASE) +
          text.charCodeAt(s + w)) |
        0;
    }
    return hits;
  }

  private hashPrefix(s: string): number {
    let h = 0;
    for (let i = 0; i < this.window; i++) h = (Math.imul(h, HASH_BASE) + s.charCodeAt(i)) | 0;
    return h;
  }

  private slot(h: number): number {
    return (Math.imul(h, 0x9e3779b1) >>> 15) & this.filterMask;
  }
}

/**
 * Keeps only the hits that start at a character boundary inside a JSON string literal. A hit elsewhere (in
 * a number, across a quote, inside an escape sequence) would turn the line into invalid JSON — or, worse,
 * let text that was escaped become structure — so it is left alone rather than "fixed".
 */
function hitsInsideJsonStrings(line: string, hits: Hit[]): Hit[] {
  const kept: Hit[] = [];
  let h = 0;
  let inString = false;
  let i = 0;
  while (i < line.length && h < hits.length) {
    while (h < hits.length && (hits[h] as Hit).start < i) h++; // started inside an escape sequence
    while (h < hits.length && (hits[h] as Hit).start === i) {
      if (inString) kept.push(hits[h] as Hit);
      h++;
    }
    const c = line.charCodeAt(i);
    if (!inString) {
      if (c === 0x22) inString = true;
      i++;
    } else if (c === 0x5c) {
      i += line.charCodeAt(i + 1) === 0x75 ? 6 : 2; // \uXXXX or \n, \", \\ …
    } else {
      if (c === 0x22) inString = false;
      i++;
    }
  }
  return kept;
}

/** Replaces the hits; overlapping hits are merged so that no part of either secret survives. */
function applyHits(text: string, hits: readonly Hit[]): string {
  let out = '';
  let at = 0;
  for (const h of hits) {
    if (h.start < at) {
      at = Math.max(at, h.end);
      continue;
    }
    out += text.slice(at, h.start) + h.mask;
    at = h.end;
  }
  return out + text.slice(at);
}

/**
 * The exact secret values of one process that must never leave it (AUTH_KEY, ENCRYPTION_KEY, proxy keys …, each
 * of a {@link SecretClass}): the one masking mechanism behind the logger, the metrics, the admin API's views of
 * stored text and the gateway's error relay ({@link SecretRegistry.maskText}). Matching is by exact substring, in
 * raw, JSON-escaped and URL-encoded form; each is replaced by its `maskSecret` form so operators can still tell
 * keys apart.
 */
export class SecretRegistry implements Iterable<string> {
  readonly #values = new Map<string, SecretClass | undefined>();
  #textMatcher: Matcher | undefined;
  #jsonMatcher: Matcher | undefined;

  constructor(values: Iterable<string | null | undefined> = []) {
    this.addAll(values);
  }

  /**
   * Registers one secret of class `secretClass`; returns false when it is too short (or empty) to be masked
   * safely. Cheap when the value is already registered (a presented proxy key, per request).
   */
  add(value: string | null | undefined, secretClass?: SecretClass): boolean {
    if (!value || value.length < MIN_MASKED_SECRET_LENGTH) return false;
    if (!this.#values.has(value)) {
      this.#values.set(value, secretClass);
      this.#invalidate();
    } else if (secretClass && this.#values.get(value) === undefined) this.#values.set(value, secretClass);
    return true;
  }

  /** Registers many secrets at once (e.g. every key of a pool). */
  addAll(values: Iterable<string | null | undefined>, secretClass?: SecretClass): void {
    for (const v of values) this.add(v, secretClass);
  }

  /** The class a secret was registered with (undefined when unknown or registered without one). */
  classOf(value: string): SecretClass | undefined {
    return this.#values.get(value);
  }

  /** Forgets one secret (e.g. a deleted key). */
  delete(value: string): boolean {
    const had = this.#values.delete(value);
    if (had) this.#invalidate();
    return had;
  }

  /** Whether `value` is registered. */
  has(value: string): boolean {
    return this.#values.has(value);
  }

  /** Forgets every secret. */
  clear(): void {
    this.#values.clear();
    this.#invalidate();
  }

  get size(): number {
    return this.#values.size;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.#values.keys();
  }

  /** Masks every registered secret in plain text (error messages, `lastError`, …). */
  redact(text: string): string {
    if (this.#values.size === 0) return text;
    // core's redactSecrets is simplest and fastest while the list is short; beyond that, scan once.
    if (this.#values.size <= SMALL_PATTERN_COUNT / 2) return redactSecrets(text, this.#values.keys());
    this.#textMatcher ??= this.#build(false);
    const hits = this.#textMatcher.find(text);
    return hits.length === 0 ? text : applyHits(text, hits);
  }

  /**
   * The mask for any text that leaves the process (error messages relayed to a client, stored in a request log,
   * shown as `lastError`, exported): the secrets of this one request in `extras` (the upstream key an attempt
   * used, the proxy key the caller presented), every registered secret, then key-shaped material (`?key=`,
   * bearer tokens, provider key formats). Use it on error text only, never on success bodies: it scans the
   * whole string.
   */
  maskText(text: string, extras?: Iterable<string | null | undefined>): string {
    const own = extras ? redactSecrets(text, extras) : text;
    return scrubKeyMaterial(this.redact(own));
  }

  /** {@link maskText} for a value that may be null (a log record's `error`). */
  maskNullable(text: string | null, extras?: Iterable<string | null | undefined>): string | null {
    return text === null ? null : this.maskText(text, extras);
  }

  /**
   * Masks registered secrets inside the string literals of one serialized JSON line; the result is
   * still valid JSON with the same structure.
   */
  redactJsonLine(line: string): string {
    if (this.#values.size === 0) return line;
    this.#jsonMatcher ??= this.#build(true);
    const hits = this.#jsonMatcher.find(line);
    if (hits.length === 0) return line;
    const kept = hitsInsideJsonStrings(line, hits);
    return kept.length === 0 ? line : applyHits(line, kept);
  }

  #invalidate(): void {
    this.#textMatcher = undefined;
    this.#jsonMatcher = undefined;
  }

  #build(json: boolean): Matcher {
    const patterns: Pattern[] = [];
    const seen = new Set<string>();
    for (const secret of this.#values.keys()) {
      const masked = maskSecret(secret);
      const mask = json ? jsonEscape(masked) : masked;
      const encoded = encodeURIComponent(secret);
      const forms = json ? [jsonEscape(secret), jsonEscape(encoded)] : [secret, encoded];
      for (const form of forms) {
        if (seen.has(form)) continue;
        seen.add(form);
        patterns.push({ text: form, mask });
      }
      // Plain text may hold JSON (an upstream error body): the escaped form gets the escaped mask.
      const escaped = jsonEscape(secret);
      if (!json && !seen.has(escaped)) {
        seen.add(escaped);
        patterns.push({ text: escaped, mask: jsonEscape(masked) });
      }
    }
    return new Matcher(patterns);
  }
}

/**
 * The registry of a logger made by `createLogger` (the process's one registry), or an empty one for any other
 * logger (a test double), so callers can always write `secretsOf(deps.logger).maskText(text, [key])`.
 */
export function secretsOf(logger: unknown): SecretRegistry {
  const secrets: unknown =
    typeof logger === 'object' && logger !== null ? (logger as { secrets?: unknown }).secrets : undefined;
  return secrets instanceof SecretRegistry ? secrets : new SecretRegistry();
}
