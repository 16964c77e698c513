import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { MAX_DECODED_BYTES, contentCodings, createDecoder } from '@keyway/providers';
import type { StreamUsage } from '@keyway/providers';

/** The end of an SSE event: a blank line. */
const BOUNDARY = /\r?\n\r?\n/g;
/** An event longer than this is passed on as it is rather than held back whole. */
const MAX_EVENT = 1024 * 1024;

/**
 * The relay of an event stream whose usage the gateway asked for on the client's behalf: each event goes out as
 * soon as it is complete (nothing is held back beyond the event being read), with what the request added taken
 * out (`StreamUsage.strip`), while its full text still reaches the usage tap. A compressed stream is decoded in the
 * byte path, and goes out decoded.
 */
export class AddedUsageRelay {
  /** Null when the stream's coding is unknown: it cannot be read, so it is relayed as it is. */
  static open(usage: StreamUsage, encoding: string | undefined): AddedUsageRelay | null {
    const codings = contentCodings(encoding);
    if (codings === null) return null;
    return new AddedUsageRelay(usage, codings.length > 0 ? createDecoder(encoding) : null);
  }

  /** Whether the client gets decoded bytes (drop the response's content coding). */
  readonly decodes: boolean;
  private readonly text = new StringDecoder('utf8');
  private pending = '';
  private decoded = 0;
  private onText: (text: string) => void = () => undefined;
  private onEvent: (event: string) => void = () => undefined;
  private onEnd: () => void = () => undefined;
  private onError: (error: Error) => void = () => undefined;

  private constructor(
    private readonly usage: StreamUsage,
    private readonly decoder: Duplex | null,
  ) {
    this.decodes = decoder !== null;
  }

  /** Wires the outputs: decoded text (the tap), events for the client, the end, a decoding failure. */
  start(
    onText: (text: string) => void,
    onEvent: (event: string) => void,
    onEnd: () => void,
    onError: (error: Error) => void,
  ): void {
    this.onText = onText;
    this.onEvent = onEvent;
    this.onEnd = onEnd;
    this.onError = onError;
    const decoder = this.decoder;
    if (!decoder) return;
    decoder.on('data', (out: Buffer) => {
      this.decoded += out.length;
      if (this.decoded > MAX_DECODED_BYTES)
        return decoder.destroy(new RangeError(`decoded stream exceeds ${MAX_DECODED_BYTES} bytes`));
      this.feed(this.text.write(out));
    });
    decoder.on('end', () => this.close());
    decoder.on('error', (error) => this.onError(error));
  }

  /** One chunk as the upstream sent it. */
  push(chunk: Buffer): void {
    if (this.decoder) this.decoder.write(chunk);
    else this.feed(this.text.write(chunk));
  }

  /** The upstream's body ended. */
  end(): void {
    if (this.decoder) this.decoder.end();
    else this.close();
  }

  destroy(): void {
    this.decoder?.destroy();
  }

  private close(): void {
    const rest = this.text.end();
    if (rest) this.feed(rest);
    // An unterminated last event goes out as it came.
    if (this.pending) this.emit(this.pending);
    this.pending = '';
    this.onEnd();
  }

  private feed(text: string): void {
    if (!text) return;
    this.onText(text);
    const data = this.pending + text;
    let start = 0;
    BOUNDARY.lastIndex = 0;
    for (let m = BOUNDARY.exec(data); m; m = BOUNDARY.exec(data)) {
      const end = m.index + m[0].length;
      this.emit(data.slice(start, end));
      start = end;
    }
    this.pending = data.slice(start);
    if (this.pending.length > MAX_EVENT) {
      this.onEvent(this.pending);
      this.pending = '';
    }
  }

  /** One event to the client, its `data:` lines as they would be without the added usage (or not at all). */
  private emit(event: string): void {
    if (!event.includes('data:')) return this.onEvent(event);
    const lines = event.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      if (!line.startsWith('data:')) continue;
      const cr = line.endsWith('\r') ? '\r' : '';
      const body = line.slice(5, line.length - cr.length);
      const lead = body.length - body.trimStart().length;
      const stripped = this.usage.strip(body.slice(lead));
      if (stripped === null) return;
      lines[i] = `data:${body.slice(0, lead)}${stripped}${cr}`;
    }
    this.onEvent(lines.join('\n'));
  }
}
