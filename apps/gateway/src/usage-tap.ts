import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { MAX_DECODED_BYTES, contentCodings, createDecoder, decodeBodySync } from '@keyway/providers';
import type { Provider, Usage } from '@keyway/providers';

const JSON_LIMIT = 1024 * 1024;

/** Merges usage seen so far with a new observation: the last non-null value of each field wins. */
function merge(into: Usage, next: Usage | null): void {
  if (!next) return;
  if (next.promptTokens !== null) into.promptTokens = next.promptTokens;
  if (next.completionTokens !== null) into.completionTokens = next.completionTokens;
  if (next.cachedTokens !== null) into.cachedTokens = next.cachedTokens;
}

/**
 * The usage object of a JSON response body without parsing the rest (the body is relayed already; parsing it all
 * cost more than anything else the gateway did with it): the last of the channel's usage `fields` found as a key
 * outside a string, with its object value, as `{ field: value }`. Null when there is none or it does not parse
 * (then the caller parses the whole body).
 */
export function usageOnly(text: string, fields: readonly string[]): Record<string, unknown> | null {
  for (const field of fields) {
    const quoted = `"${field}"`;
    for (let at = text.lastIndexOf(quoted); at > 0; at = text.lastIndexOf(quoted, at - 1)) {
      // A key inside a string value would be escaped: an odd run of backslashes before the quote.
      let slashes = 0;
      while (text.charCodeAt(at - 1 - slashes) === 0x5c) slashes++;
      if (slashes % 2 === 1) continue;
      let i = at + quoted.length;
      while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d) i++;
      if (text.charCodeAt(i) !== 0x3a) continue;
      i++;
      while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d) i++;
      if (text.charCodeAt(i) !== 0x7b) continue;
      const end = objectEnd(text, i);
      if (end < 0) return null;
      try {
        return { [field]: JSON.parse(text.slice(i, end)) as unknown };
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The index after the `}` closing the object that starts at `start`, skipping strings; -1 if unclosed. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * Watches a response body as it is relayed and extracts token usage without holding the stream back: SSE lines
 * are scanned as they pass and only those mentioning usage are parsed; a JSON body is kept (up to 1 MiB) and
 * parsed once it ended. A compressed event stream is decoded on the side (a copy: the client gets the bytes
 * untouched), so a client asking for gzip cannot hide its tokens.
 */
export class UsageTap {
  readonly usage: Usage = { promptTokens: null, completionTokens: null, cachedTokens: null };
  private pending = '';
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** The side decoder of a compressed event stream, and the text decoder after it (characters split by chunks). */
  private decoder: Duplex | null = null;
  private readonly text = new StringDecoder('utf8');
  private decoded = 0;
  /** The relayed bytes are not text this tap can read: an unknown coding, or a side decoder that gave up. */
  private opaque = false;

  constructor(
    private readonly provider: Provider,
    private readonly mode: 'sse' | 'json' | 'none',
    /** Content-Encoding of the body as relayed: undone on the side, after the bytes went out untouched. */
    private readonly encoding: string | undefined = undefined,
  ) {
    if (mode === 'sse' && encoding) {
      this.opaque = contentCodings(encoding) === null;
      this.decoder = this.openDecoder(encoding);
    }
  }

  /** Feeds one relayed chunk (as the upstream sent it). */
  push(chunk: Buffer): void {
    if (this.mode === 'sse') {
      if (this.decoder) this.decoder.write(chunk);
      else if (!this.opaque) this.scan(this.text.write(chunk));
    } else if (this.mode === 'json' && this.size < JSON_LIMIT) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  /** Feeds decoded event-stream text (a relay that decodes in the byte path itself). */
  pushText(text: string): void {
    this.scan(text);
  }

  /**
   * Finishes after the body ended; `done` gets the usage once a side decoder has drained (at once otherwise).
   */
  finish(done: (usage: Usage) => void): void {
    const decoder = this.decoder;
    if (!decoder || decoder.destroyed) return done(this.end());
    let called = false;
    const once = () => {
      if (called) return;
      called = true;
      done(this.end());
    };
    decoder.on('end', once);
    decoder.on('error', once);
    decoder.on('close', once);
    decoder.end();
  }

  /** The usage seen so far, without waiting for a side decoder (a broken or abandoned body). */
  abort(): Usage {
    this.decoder?.destroy();
    this.decoder = null;
    return this.end();
  }

  /** Finishes after the body ended. */
  end(): Usage {
    if (this.mode === 'sse') {
      const rest = this.text.end();
      if (rest) this.scan(rest);
    }
    if (this.mode === 'sse' && this.pending) {
      this.line(this.pending);
      this.pending = '';
    }
    if (this.mode === 'json' && this.size > 0 && this.size < JSON_LIMIT) {
      try {
        // Synchronous: the body is at most 1 MiB, and `end` answers before the request is recorded.
        const whole =
          this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
        const text = decodeBodySync(whole, this.encoding, 4 * JSON_LIMIT).toString('utf8');
        const fields = this.provider.usageFields;
        const body: unknown = (fields ? usageOnly(text, fields) : null) ?? JSON.parse(text);
        merge(this.usage, this.provider.usageFromJson(body));
      } catch {
        // Not JSON after all, or not decodable: no usage.
      }
    }
    return this.usage;
  }

  /** A decoder whose output is scanned, given up (no usage, nothing else affected) past its bound or on error. */
  private openDecoder(encoding: string): Duplex | null {
    const decoder = createDecoder(encoding);
    if (!decoder) return null;
    decoder.on('data', (out: Buffer) => {
      this.decoded += out.length;
      // A decompression bomb costs CPU, never memory or the relay: stop reading it.
      if (this.decoded > MAX_DECODED_BYTES) return this.giveUp(decoder);
      this.scan(this.text.write(out));
    });
    decoder.on('error', () => this.giveUp(decoder));
    return decoder;
  }

  private giveUp(decoder: Duplex): void {
    this.opaque = true;
    if (this.decoder === decoder) this.decoder = null;
    decoder.destroy();
  }

  private scan(text: string): void {
    const data = this.pending + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl < 0) break;
      this.line(data.slice(start, nl));
      start = nl + 1;
    }
    // Keep a partial line for the next chunk, but never let a pathological stream grow it without bound.
    this.pending = data.length - start > 256 * 1024 ? '' : data.slice(start);
  }

  private line(raw: string): void {
    if (!raw.startsWith('data:') || !raw.includes('sage')) return; // "usage" / "usageMetadata"
    try {
      merge(this.usage, this.provider.usageFromEvent(JSON.parse(raw.slice(5).trim())));
    } catch {
      // A data line that is not JSON ([DONE], a partial event): ignore.
    }
  }
}
