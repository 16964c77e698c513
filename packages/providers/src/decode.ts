import { Duplex, Readable, Transform, pipeline } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';

/**
 * The one content decoder of the project: a response's `Content-Encoding` undone from a whole buffer
 * (`decodeBody`, `decodeBodySync`) or as a stream (`createDecoder`). gzip, x-gzip, deflate and br come from
 * node:zlib; zstd from fzstd, because Node 20's zlib has none.
 */

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

const KNOWN = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd']);

/**
 * The codings to undo, last-applied first; `[]` for identity or none. Null when one is unknown: a coding we
 * cannot undo hides the ones applied before it, so the body must pass through as it is.
 */
export function contentCodings(contentEncoding: string | undefined): string[] | null {
  if (!contentEncoding) return [];
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.some((c) => !KNOWN.has(c)) ? null : codings.reverse();
}

type Codec = 'gunzip' | 'inflate' | 'inflateRaw' | 'brotli' | 'zstd';

/**
 * The decoder of one coding. `deflate` is zlib-wrapped per RFC 9110, but servers have long sent raw deflate
 * (and some gzip) under that name: the first two bytes tell them apart (a zlib header has compression method 8
 * and a check value making it a multiple of 31; raw deflate's first byte only looks like that for a stored
 * block with non-zero padding bits, which no encoder writes).
 */
function codecOf(coding: string, head: Buffer): Codec {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return 'gunzip';
    case 'br':
      return 'brotli';
    case 'zstd':
      return 'zstd';
    default: {
      const [b0 = 0, b1 = 0] = head;
      if (b0 === 0x1f && b1 === 0x8b) return 'gunzip';
      if (head.length >= 2 && (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && (b0 * 256 + b1) % 31 === 0)
        return 'inflate';
      return 'inflateRaw';
    }
  }
}

function zstdSync(buf: Buffer, maxBytes: number): Buffer {
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

const opts = (maxBytes: number) => ({ maxOutputLength: maxBytes });

const SYNC: Record<Codec, (buf: Buffer, maxBytes: number) => Buffer> = {
  gunzip: (buf, max) => zlib.gunzipSync(buf, opts(max)),
  inflate: (buf, max) => zlib.inflateSync(buf, opts(max)),
  inflateRaw: (buf, max) => zlib.inflateRawSync(buf, opts(max)),
  brotli: (buf, max) => zlib.brotliDecompressSync(buf, opts(max)),
  zstd: zstdSync,
};

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

// zlib's async forms run on the thread pool: a large model list does not hold the event loop.
const ASYNC: Record<Codec, (buf: Buffer, maxBytes: number) => Promise<Buffer> | Buffer> = {
  gunzip: (buf, max) => gunzip(buf, opts(max)),
  inflate: (buf, max) => inflate(buf, opts(max)),
  inflateRaw: (buf, max) => inflateRaw(buf, opts(max)),
  brotli: (buf, max) => brotli(buf, opts(max)),
  zstd: zstdSync,
};

function decodeError(coding: string, error: unknown): BodyDecodeError {
  return new BodyDecodeError(coding, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

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
  const codings = buf.length === 0 ? null : contentCodings(contentEncoding);
  let out = buf;
  for (const coding of codings ?? []) {
    try {
      out = await ASYNC[codecOf(coding, out)](out, maxBytes);
    } catch (error) {
      throw decodeError(coding, error);
    }
  }
  return out;
}

/** `decodeBody` on the calling thread, for small bounded bodies read where no promise can be awaited. */
export function decodeBodySync(
  buf: Buffer,
  contentEncoding: string | undefined,
  maxBytes = MAX_DECODED_BYTES,
): Buffer {
  const codings = buf.length === 0 ? null : contentCodings(contentEncoding);
  let out = buf;
  for (const coding of codings ?? []) {
    try {
      out = SYNC[codecOf(coding, out)](out, maxBytes);
    } catch (error) {
      throw decodeError(coding, error);
    }
  }
  return out;
}

/** fzstd's streaming decoder as a node Transform. */
class ZstdDecoder extends Transform {
  private readonly d = new Decompress((out) =>
    this.push(Buffer.from(out.buffer, out.byteOffset, out.length)),
  );
  private empty = true;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (chunk.length > 0) this.empty = false;
      this.d.push(chunk);
      cb();
    } catch (error) {
      cb(decodeError('zstd', error));
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.empty) return cb();
    try {
      // The final push reports a body that broke off inside a frame.
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (error) {
      cb(decodeError('zstd', error));
    }
  }
}

/** Waits for the first two bytes of a `deflate` body, then decodes with the zlib flavour they announce. */
class DeflateDecoder extends Transform {
  private inner: Transform | null = null;
  private head = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.inner) return this.forward(this.inner, chunk, cb);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 2) return cb();
    this.forward(this.open(), this.head, cb);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.inner && this.head.length > 0) this.open().write(this.head);
    if (!this.inner) return cb();
    this.inner.once('end', () => cb());
    this.inner.end();
  }

  private open(): Transform {
    const codec = codecOf('deflate', this.head);
    const inner =
      codec === 'gunzip'
        ? zlib.createGunzip()
        : codec === 'inflate'
          ? zlib.createInflate()
          : zlib.createInflateRaw();
    inner.on('data', (out: Buffer) => this.push(out));
    inner.once('error', (error) => this.destroy(decodeError('deflate', error)));
    this.inner = inner;
    return inner;
  }

  private forward(inner: Transform, chunk: Buffer, cb: TransformCallback): void {
    if (inner.write(chunk)) cb();
    else inner.once('drain', () => cb());
  }
}

function streamOf(coding: string): Transform {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return new ZstdDecoder();
    default:
      return new DeflateDecoder();
  }
}

/**
 * A stream that undoes `contentEncoding` as bytes pass (same codings as `decodeBody`), or null when there is
 * nothing to undo or a coding is unknown (pass the bytes on as they are). The consumer bounds the output.
 */
export function createDecoder(contentEncoding: string | undefined): Duplex | null {
  const codings = contentCodings(contentEncoding);
  if (!codings || codings.length === 0) return null;
  const streams = codings.map(streamOf);
  const first = streams[0] as Transform;
  if (streams.length === 1) return first;
  const last = streams[streams.length - 1] as Transform;
  // A failing stage destroys the whole chain, so the consumer of `last` sees the error.
  pipeline(streams, () => {});
  return Duplex.from({ writable: first, readable: last });
}

/**
 * What the readers here use of a byte stream: a Node Readable, or a lighter source that emits the same `data`,
 * `end`, `error` and `close` events (the gateway's upstream bodies).
 */
export interface ByteStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
}

/**
 * `stream` as a Node Readable, for what needs one (pipeline, async iteration): itself when it is one, else a
 * Readable fed by its events, with its backpressure and destroyed with it either way.
 */
export function asReadable(stream: ByteStream): Readable {
  if (stream instanceof Readable) return stream;
  const out = new Readable({
    read: () => void stream.resume(),
    destroy: (error, callback) => {
      stream.destroy(error ?? undefined);
      callback(error);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) stream.pause();
  });
  stream.on('end', () => out.push(null));
  stream.on('error', (error: Error) => out.destroy(error));
  stream.on('close', () => {
    if (!stream.readableEnded && !out.destroyed) out.destroy(new Error('the stream closed before its end'));
  });
  // Over already: no event will come.
  if (stream.readableEnded) out.push(null);
  else if (stream.destroyed) out.destroy(new Error('the stream closed before its end'));
  return out;
}

/**
 * Where a reader leaves its way to stop while it reads (a request's close hook: the client going away ends the
 * read); cleared when the read ends.
 */
export interface StopSlot {
  closeHook: (() => void) | null;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Up to `limit` bytes of `body` as they arrive, then the body destroyed; on an error, what came before it. A body
 * that came in one chunk is that chunk (no copy), and the collector's own end is what `slot` holds meanwhile.
 */
function collectPrefix(body: ByteStream, limit: number, slot: StopSlot | undefined): Promise<Buffer> {
  return new Promise((resolve) => {
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;
    let size = 0;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      if (slot) slot.closeHook = null;
      body.off('data', onData);
      body.destroy();
      const all = more ? Buffer.concat(more, size) : (first ?? NO_BYTES);
      resolve(all.length > limit ? all.subarray(0, limit) : all);
    };
    const onData = (chunk: Buffer): void => {
      if (first === null) first = chunk;
      else (more ??= [first]).push(chunk);
      size += chunk.length;
      if (size >= limit) done();
    };
    body.on('data', onData);
    body.once('end', done);
    body.once('error', done);
    body.once('close', done);
    if (slot) slot.closeHook = done;
  });
}

/**
 * Reads at most `limit` decoded bytes of a body, then destroys it. Never throws: a body that breaks off or does
 * not decode yields what decoded before (an error body still classifies by its status). While it reads, `slot`
 * (a request's close hook) holds a way to stop it.
 */
export async function readDecodedPrefix(
  body: ByteStream,
  contentEncoding: string | undefined,
  limit: number,
  slot?: StopSlot,
): Promise<Buffer> {
  const decoder = createDecoder(contentEncoding);
  // Uncompressed (the common case, e.g. every translated JSON answer): stream events, without an async iterator's
  // promise per chunk and its end-of-stream bookkeeping.
  if (!decoder && !body.destroyed && !body.readableEnded) return collectPrefix(body, limit, slot);
  if (slot) slot.closeHook = () => body.destroy();
  // pipeline, not pipe: an upstream error must end the decoder too, or the loop below would wait forever.
  const readable = asReadable(body);
  const source: AsyncIterable<Buffer> = decoder ? pipeline(readable, decoder, () => {}) : readable;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // Truncated or undecodable: keep what came.
  } finally {
    if (slot) slot.closeHook = null;
    body.destroy();
    decoder?.destroy();
  }
  const all = Buffer.concat(chunks, size);
  return all.length > limit ? all.subarray(0, limit) : all;
}
