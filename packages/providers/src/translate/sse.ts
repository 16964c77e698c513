import type { SseEvent } from './types';

/**
 * Incremental SSE parser (WHATWG "event stream interpretation"): bytes in any split, events out. Handles CRLF, CR
 * and LF line ends (a CR at the end of a chunk waits for a possible LF), multi-line `data:`, comments and a
 * UTF-8 character split across chunks.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  private event: string | undefined;
  private data: string[] = [];

  /** Events completed by this chunk. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** Events completed by the end of the stream (a last event without its blank line is dispatched too). */
  end(): SseEvent[] {
    this.buf += this.decoder.decode();
    const out = this.drain(true);
    if (this.buf.length > 0) {
      this.line(this.buf, out);
      this.buf = '';
    }
    this.dispatch(out);
    return out;
  }

  private drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    const s = this.buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === s.length - 1 && !final) break; // maybe CRLF split across chunks
      this.line(s.slice(start, i), out);
      if (c === 13 && s.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buf = s.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data.length > 0) {
      const ev: SseEvent = { data: this.data.join('\n') };
      if (this.event !== undefined) ev.event = this.event;
      out.push(ev);
    }
    this.data = [];
    this.event = undefined;
  }
}

/** One SSE event as text: `event:` line when named, `data:` line(s), blank line. */
export function sseEvent(data: string, event?: string): string {
  const lines = data.includes('\n')
    ? data
        .split('\n')
        .map((l) => `data: ${l}`)
        .join('\n')
    : `data: ${data}`;
  return event ? `event: ${event}\n${lines}\n\n` : `${lines}\n\n`;
}
