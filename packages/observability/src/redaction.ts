import { scrubKeyMaterial } from '@keyway/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stdSerializers } from 'pino';
import { SECRET_CLASS_NAMES } from './secret-classes';

/** What replaces a redacted field. */
export const REDACTED = '[redacted]';

/** Headers whose values are credentials or sessions. */
export const SENSITIVE_HEADERS = [
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  'cookie',
  'set-cookie',
  'proxy-authorization',
] as const;

/**
 * Field names whose values are secrets wherever they appear at the top level or one level deep: every secret class
 * name (`authKey`, `proxyKey` …, so a new class is covered too) and the usual names of credentials.
 */
export const SECRET_FIELDS = [
  ...SECRET_CLASS_NAMES,
  'key',
  'apiKey',
  'proxyKeys',
  'keyValue',
  'secret',
  'password',
  'token',
] as const;

/** String fields that hold URLs and may carry `?key=` (Gemini puts the key in the query string). */
export const URL_FIELDS = ['url', 'path', 'upstreamUrl'] as const;

const urlFields: ReadonlySet<string> = new Set(URL_FIELDS);
const secretFields: ReadonlySet<string> = new Set(SECRET_FIELDS);
const sensitiveHeaders: ReadonlySet<string> = new Set(SENSITIVE_HEADERS);

/** Secret fields are matched at these depths (0 = the logged object's own fields). */
const SECRET_FIELD_DEPTH = 1;
/** How deep the walk goes; URL fields and `headers` are matched down to here (`attempts[i].upstreamUrl`). */
const MAX_DEPTH = 2;

/** A `maskSecret` result (`sk-ab…9f3c`, `***…`): already safe to print, and handy to tell keys apart. */
const ALREADY_MASKED = /^[^\u2026]{0,5}\u2026[^\u2026]{0,4}$/;

type Rec = Record<string, unknown>;

function isPlainObject(v: unknown): v is Rec {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function censorSecret(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'string' && ALREADY_MASKED.test(v)) return v;
  return REDACTED;
}

function scrubUrl(v: unknown): unknown {
  if (typeof v === 'string') return scrubKeyMaterial(v);
  if (v instanceof URL) return scrubKeyMaterial(v.href);
  return v;
}

function redactHeaders(headers: Rec): Rec {
  let out: Rec | undefined;
  for (const name of Object.keys(headers)) {
    // Lower-cased: node lower-cases incoming headers, but outgoing header objects may say `Authorization`.
    if (sensitiveHeaders.has(name.toLowerCase()) && headers[name] !== undefined) {
      out ??= { ...headers };
      out[name] = REDACTED;
    }
  }
  return out ?? headers;
}

function redactValue(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      // A nested array counts as a level, so even a self-containing array ends.
      const next = redactValue(item, Array.isArray(item) ? depth + 1 : depth);
      if (next !== item) {
        out ??= [...(v as unknown[])];
        out[i] = next;
      }
    }
    return out ?? v;
  }
  return isPlainObject(v) ? redactFields(v, depth) : v;
}

/**
 * Redacts a log record, copy-on-write (the caller's objects are never modified, and an object without
 * anything to redact is returned as is): credential headers under any `headers` object, secret fields
 * (`key`, `apiKey`, `token` …) at the top level or one level deep, and `?key=`/bearer/provider-key
 * material in `url`/`path`/`upstreamUrl` strings down to two levels. Only plain objects and arrays are
 * walked; errors and node http objects are handled by their serializers.
 *
 * This replaces pino's `redact` option, which cost 5–18 µs per line for these paths (wildcards run a
 * cloning redactor over every top-level value) against well under 1 µs for this walk.
 */
export function redactFields(record: Rec, depth = 0): Rec {
  let out: Rec | undefined;
  for (const k of Object.keys(record)) {
    const v = record[k];
    let next: unknown;
    if (depth <= SECRET_FIELD_DEPTH && secretFields.has(k)) next = censorSecret(v);
    else if (urlFields.has(k)) next = scrubUrl(v);
    else if (k === 'headers' && isPlainObject(v)) next = redactHeaders(v);
    else if (depth < MAX_DEPTH) next = redactValue(v, depth + 1);
    else continue;
    if (next !== v) {
      out ??= { ...record };
      out[k] = next;
    }
  }
  return out ?? record;
}

/** Scrubs key material from the (already formatted) log message. */
export function scrubMessage(msg: unknown): unknown {
  return typeof msg === 'string' ? scrubKeyMaterial(msg) : msg;
}

type ErrorRecord = Record<string, unknown> & { message: string };

/** pino's notion of an error: anything with a string `message`. */
function isErrorLike(value: unknown): value is ErrorRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Mutates a *serialized* error (pino's copy, never the caller's Error). */
function scrubSerializedError(e: ErrorRecord, depth: number): ErrorRecord {
  e.message = scrubKeyMaterial(e.message);
  if (typeof e['stack'] === 'string') e['stack'] = scrubKeyMaterial(e['stack']);
  if (depth >= 5) return e;
  // The serializer folds `cause` into message/stack but serializes other error-valued properties (and
  // AggregateError's errors) as nested objects.
  for (const k of Object.keys(e)) {
    const v = e[k];
    // Copies first: an array element may be the caller's own object.
    if (isErrorLike(v)) e[k] = scrubSerializedError({ ...v }, depth + 1);
    else if (Array.isArray(v))
      e[k] = v.map((a: unknown) => (isErrorLike(a) ? scrubSerializedError({ ...a }, depth + 1) : a));
  }
  return e;
}

/**
 * pino's error serializer, with key material scrubbed from the message, stack and nested errors, and the
 * error's own fields (`err.url`, `err.headers`, `err.key` …) redacted like any field one level deep.
 */
export function serializeError(value: unknown): unknown {
  if (typeof value === 'string') return scrubKeyMaterial(value);
  if (!isErrorLike(value)) return value;
  return redactFields(scrubSerializedError(stdSerializers.err(value as unknown as Error), 0), 1);
}

function isNodeRequest(v: unknown): v is IncomingMessage {
  return (
    typeof v === 'object' &&
    v !== null &&
    'socket' in v &&
    typeof (v as { method?: unknown }).method === 'string' &&
    typeof (v as { headers?: unknown }).headers === 'object'
  );
}

function isNodeResponse(v: unknown): v is ServerResponse {
  return (
    typeof v === 'object' && v !== null && typeof (v as { getHeaders?: unknown }).getHeaders === 'function'
  );
}

/** A node `IncomingMessage` under `req` becomes pino's summary of it, redacted; anything else passes. */
export function serializeRequest(value: unknown): unknown {
  return isNodeRequest(value) ? redactFields(stdSerializers.req(value) as unknown as Rec, 1) : value;
}

/** A node `ServerResponse` under `res` becomes pino's summary of it, redacted; anything else passes. */
export function serializeResponse(value: unknown): unknown {
  return isNodeResponse(value) ? redactFields(stdSerializers.res(value) as unknown as Rec, 1) : value;
}
