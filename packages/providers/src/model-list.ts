import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';

const LIST_SUFFIXES = ['/v1/models', '/v1beta/models', '/v1beta/openai/models'] as const;

/**
 * Whether a proxied request lists models (GPT-Load intercepts these to show the group's redirect keys). Only
 * the collection: `/v1/models/{id}` is a single model and passes through untouched.
 */
export function isModelListRequest(method: string, path: string): boolean {
  if (method.toUpperCase() !== 'GET') return false;
  let p = path;
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  if (p.endsWith('/')) p = p.slice(0, -1);
  return LIST_SUFFIXES.some((s) => p.endsWith(s));
}

/** How to rewrite one model-list response. */
export interface ModelListOptions {
  /** The group's model redirects: client-facing name → upstream name. Keys are what clients may ask for. */
  redirects: Record<string, string>;
  /** Strict redirects: clients may use only the redirect keys, so the list shows exactly those. */
  strict: boolean;
  /** No page token in the request: the only page the keys are merged into, so they are not repeated. */
  firstPage: boolean;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] | null {
  return Array.isArray(v) ? (v as unknown[]) : null;
}

function bareName(name: unknown): string | null {
  if (typeof name !== 'string') return null;
  return name.startsWith('models/') ? name.slice('models/'.length) : name;
}

function openAiEntry(id: string): JsonObject {
  return { id, object: 'model', created: 0, owned_by: 'system' };
}

function geminiEntry(key: string): JsonObject {
  const bare = bareName(key) ?? key;
  return { name: `models/${bare}`, displayName: bare, supportedGenerationMethods: ['generateContent'] };
}

/**
 * Rewrites a parsed model-list body so clients see the group's redirect keys: an OpenAI-style `data` list (any
 * channel; Anthropic's has the same field) or Gemini's native `models` list. Strict mode replaces the list;
 * otherwise the keys are appended, skipping names upstream already lists. Anything else comes back as given.
 * The input is never mutated.
 */
export function rewriteModelList(body: unknown, opts: ModelListOptions): unknown {
  if (!isObject(body)) return body;
  const keys = Object.keys(opts.redirects);
  if (keys.length === 0 && !opts.strict) return body;
  const data = asArray(body.data);
  const models = asArray(body.models);
  if (!data && !models) return body;
  // Appending on a later page would show the keys once per page.
  const merge = opts.strict || opts.firstPage;
  let out: JsonObject = body;

  if (data && merge) {
    if (opts.strict) {
      out = { ...out, data: keys.map(openAiEntry) };
      // Anthropic's list pages by `has_more`; the replaced list is complete.
      if ('has_more' in out) out.has_more = false;
    } else {
      const seen = new Set(data.map((m) => (isObject(m) ? m.id : undefined)));
      const extra = keys.filter((k) => !seen.has(k)).map(openAiEntry);
      if (extra.length > 0) out = { ...out, data: [...data, ...extra] };
    }
  }

  if (models && merge) {
    if (opts.strict) {
      const { nextPageToken: _dropped, ...rest } = out;
      out = { ...rest, models: keys.map(geminiEntry) };
    } else {
      const seen = new Set(models.map((m) => (isObject(m) ? bareName(m.name) : null)));
      const extra = keys.filter((k) => !seen.has(bareName(k))).map(geminiEntry);
      if (extra.length > 0) out = { ...out, models: [...models, ...extra] };
    }
  }
  return out;
}

/** A response body that could not be decoded; the caller falls back to the raw bytes. */
export class BodyDecodeError extends Error {
  override readonly name = 'BodyDecodeError';
  constructor(
    /** The content coding that failed. */
    readonly encoding: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot decode ${encoding} body: ${message}`, options);
  }
}

/** Upper bound of a decoded body: model lists are small, and this stops a decompression bomb. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

function zstd(buf: Buffer, maxBytes: number): Buffer {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // The streaming decoder so the size cap holds while decoding, and frames without a content size work.
  const d = new Decompress((chunk) => {
    size += chunk.length;
    if (size > maxBytes) throw new RangeError(`output exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  });
  d.push(buf, true);
  return Buffer.concat(chunks, size);
}

async function decodeOne(buf: Buffer, coding: string, maxBytes: number): Promise<Buffer> {
  const opts = { maxOutputLength: maxBytes };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return gunzip(buf, opts);
    case 'br':
      return brotli(buf, opts);
    case 'zstd':
      return zstd(buf, maxBytes);
    case 'deflate':
      // RFC 9110 says zlib-wrapped, but servers have long sent raw deflate (and some send gzip) under this name.
      try {
        return await inflate(buf, opts);
      } catch (zlibError) {
        try {
          return await inflateRaw(buf, opts);
        } catch {
          try {
            return await gunzip(buf, opts);
          } catch {
            throw zlibError;
          }
        }
      }
    default:
      throw new Error(`unsupported coding ${coding}`);
  }
}

const KNOWN = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd']);

/**
 * Undoes a response's `Content-Encoding` (gzip, x-gzip, deflate, br, zstd; a list is undone last-applied
 * first). Identity, absent or unknown codings return the bytes unchanged. Throws `BodyDecodeError` when the
 * bytes do not decode or exceed `maxBytes`.
 */
export async function decodeBody(
  buf: Buffer,
  contentEncoding: string | undefined,
  maxBytes = MAX_DECODED_BYTES,
): Promise<Buffer> {
  if (!contentEncoding || buf.length === 0) return buf;
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  // Can't undo a coding we don't know, so neither can we undo the ones applied before it.
  if (codings.length === 0 || codings.some((c) => !KNOWN.has(c))) return buf;
  let out = buf;
  for (const coding of codings.reverse()) {
    try {
      out = await decodeOne(out, coding, maxBytes);
    } catch (error) {
      throw new BodyDecodeError(coding, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
  }
  return out;
}
