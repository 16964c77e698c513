import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { StopSlot } from './decode';
import { BodyDecodeError, createDecoder, decodeBody, decodeBodySync, readDecodedPrefix } from './decode';

const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));
const plain = fixture('model-list.json');

const ENCODED: Array<[string, Buffer]> = [
  ['gzip', zlib.gzipSync(plain)],
  ['x-gzip', zlib.gzipSync(plain)],
  ['GZIP', zlib.gzipSync(plain)],
  ['br', zlib.brotliCompressSync(plain)],
  ['deflate', zlib.deflateSync(plain)],
  ['deflate', zlib.deflateRawSync(plain)],
  ['deflate', zlib.gzipSync(plain)],
  // Made by the zstd CLI: a frame with its content size, and two frames without (as a streaming server sends).
  ['zstd', fixture('model-list.json.zst')],
  ['zstd', fixture('model-list.frames.zst')],
  ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(plain))],
  [' identity , gzip ', zlib.gzipSync(plain)],
];

describe('decodeBody', () => {
  it.each(ENCODED)('%s', async (encoding, encoded) => {
    const out = await decodeBody(encoded, encoding);
    expect(out.equals(plain)).toBe(true);
    expect(JSON.parse(out.toString('utf8'))).toMatchObject({ object: 'list' });
  });

  it('round-trips the async zlib encoders too', async () => {
    const big = Buffer.from(
      JSON.stringify({ data: Array.from({ length: 5000 }, (_, i) => ({ id: `m-${i}` })) }),
    );
    const gz = await promisify(zlib.gzip)(big);
    const br = await promisify(zlib.brotliCompress)(big);
    expect((await decodeBody(gz, 'gzip')).equals(big)).toBe(true);
    expect((await decodeBody(br, 'br')).equals(big)).toBe(true);
  });

  it.each([undefined, '', 'identity', 'compress', 'snappy', 'gzip, compress'])(
    'passes %j through unchanged',
    async (encoding) => {
      const buf = zlib.gzipSync(plain);
      expect(await decodeBody(buf, encoding)).toBe(buf);
    },
  );

  it('passes an empty body through', async () => {
    const empty = Buffer.alloc(0);
    expect(await decodeBody(empty, 'gzip')).toBe(empty);
  });

  it.each([
    ['gzip', plain],
    ['br', Buffer.from('definitely not brotli')],
    // Raw deflate has no header or checksum, so only bytes that are invalid as a block fail for sure (BTYPE 11).
    ['deflate', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['zstd', plain],
    ['zstd', fixture('model-list.json.zst').subarray(0, 40)],
    ['gzip', zlib.gzipSync(plain).subarray(0, 30)],
  ])('throws BodyDecodeError for undecodable %s', async (encoding, buf) => {
    const error = await decodeBody(buf, encoding).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BodyDecodeError);
    expect(error).toMatchObject({ name: 'BodyDecodeError', encoding });
  });

  it.each([
    ['gzip', zlib.gzipSync(plain)],
    ['br', zlib.brotliCompressSync(plain)],
    ['deflate', zlib.deflateSync(plain)],
    ['zstd', fixture('model-list.json.zst')],
  ])('refuses %s output past maxBytes', async (encoding, buf) => {
    await expect(decodeBody(buf, encoding, 100)).rejects.toBeInstanceOf(BodyDecodeError);
    expect((await decodeBody(buf, encoding, plain.length)).equals(plain)).toBe(true);
  });
});

describe('decodeBodySync', () => {
  it.each(ENCODED)('%s', (encoding, encoded) => {
    expect(decodeBodySync(encoded, encoding).equals(plain)).toBe(true);
  });

  it('throws BodyDecodeError for bytes that do not decode, and past maxBytes', () => {
    expect(() => decodeBodySync(plain, 'br')).toThrow(BodyDecodeError);
    expect(() => decodeBodySync(zlib.gzipSync(plain), 'gzip', 100)).toThrow(BodyDecodeError);
  });
});

/** Feeds `buf` to a fresh decoder in `size`-byte chunks and collects what comes out. */
async function streamDecode(encoding: string, buf: Buffer, size: number): Promise<Buffer> {
  const decoder = createDecoder(encoding);
  if (!decoder) throw new Error(`no decoder for ${encoding}`);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  const out: Buffer[] = [];
  Readable.from(chunks).pipe(decoder);
  for await (const chunk of decoder) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

describe('createDecoder', () => {
  it.each(ENCODED)('%s, in one chunk and byte by byte', async (encoding, encoded) => {
    expect((await streamDecode(encoding, encoded, encoded.length)).equals(plain)).toBe(true);
    expect((await streamDecode(encoding, encoded, 1)).equals(plain)).toBe(true);
  });

  it.each([undefined, '', 'identity', 'compress', 'gzip, compress'])('has nothing to undo for %j', (e) => {
    expect(createDecoder(e)).toBeNull();
  });

  it.each([
    ['gzip', zlib.gzipSync(plain).subarray(0, 30)],
    ['zstd', fixture('model-list.json.zst').subarray(0, 40)],
    ['deflate', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['gzip, br', zlib.gzipSync(plain)],
  ])('fails the stream on undecodable %s', async (encoding, buf) => {
    await expect(streamDecode(encoding, buf, 7)).rejects.toThrow();
  });
});

describe('readDecodedPrefix', () => {
  it('reads a compressed body up to the limit and destroys it', async () => {
    const body = Readable.from([zlib.brotliCompressSync(plain)]);
    const out = await readDecodedPrefix(body, 'br', 100);
    expect(out.equals(plain.subarray(0, 100))).toBe(true);
    expect(body.destroyed).toBe(true);
  });

  it('passes an unknown coding through as bytes', async () => {
    const out = await readDecodedPrefix(Readable.from([Buffer.from('raw')]), 'snappy', 100);
    expect(out.toString()).toBe('raw');
  });

  it('keeps what decoded when the body breaks off', async () => {
    const body = new PassThrough();
    const done = readDecodedPrefix(body, 'zstd', 1 << 20);
    body.write(fixture('model-list.json.zst'));
    setTimeout(() => body.destroy(new Error('socket hang up')), 20);
    const out = await done;
    expect(out.equals(plain)).toBe(true);
  });

  it('reads an uncompressed body in chunks up to the limit, then destroys it', async () => {
    const body = new PassThrough();
    const done = readDecodedPrefix(body, undefined, 100);
    for (let i = 0; i < plain.length; i += 30) body.write(plain.subarray(i, i + 30));
    const out = await done;
    expect(out.equals(plain.subarray(0, 100))).toBe(true);
    expect(body.destroyed).toBe(true);
  });

  it('keeps what came of an uncompressed body that breaks off, and reads one that ends under the limit', async () => {
    const broken = new PassThrough();
    const done = readDecodedPrefix(broken, 'identity', 1 << 20);
    broken.write(Buffer.from('{"error":'));
    setTimeout(() => broken.destroy(new Error('socket hang up')), 20);
    expect((await done).toString()).toBe('{"error":');
    const whole = await readDecodedPrefix(
      Readable.from([plain.subarray(0, 10), plain.subarray(10)]),
      '',
      1 << 20,
    );
    expect(whole.equals(plain)).toBe(true);
  });

  it('holds its stop in the slot while it reads: the stop ends the read with what came; the slot is cleared', async () => {
    for (const encoding of [undefined, 'gzip']) {
      const slot: StopSlot = { closeHook: null };
      const body = new PassThrough();
      const done = readDecodedPrefix(body, encoding, 1 << 20, slot);
      const part = encoding ? zlib.gzipSync(plain).subarray(0, 40) : plain.subarray(0, 40);
      body.write(part);
      await new Promise((r) => setTimeout(r, 20));
      expect(slot.closeHook, String(encoding)).toBeTypeOf('function');
      slot.closeHook?.();
      const out = await done;
      expect(body.destroyed).toBe(true);
      expect(slot.closeHook).toBeNull();
      if (!encoding) expect(out.equals(part)).toBe(true);
    }
    const slot: StopSlot = { closeHook: null };
    await readDecodedPrefix(Readable.from([plain]), undefined, 1 << 20, slot);
    expect(slot.closeHook).toBeNull();
  });

  it('gives a body that came in one chunk as that chunk, without a copy', async () => {
    const chunk = Buffer.from(plain);
    const out = await readDecodedPrefix(Readable.from([chunk]), undefined, 1 << 20);
    expect(out.buffer).toBe(chunk.buffer);
    expect(out.equals(plain)).toBe(true);
  });

  it('answers at once for a body that is already gone', async () => {
    const gone = new PassThrough();
    gone.destroy();
    expect((await readDecodedPrefix(gone, undefined, 100)).length).toBe(0);
  });
});
