import { decodeBodySync } from '@keyway/providers';
import type { Provider, Usage } from '@keyway/providers';

const JSON_LIMIT = 1024 * 1024;

/** Merges usage seen so far with a new observation: the last non-null value of each field wins. */
function merge(into: Usage, next: Usage | null): void {
  if (!next) return;
  if (next.promptTokens !== null) into.promptTokens = next.promptTokens;
  if (next.completionTokens !== null) into.completionTokens = next.completionTokens;
}

/**
 * Watches a response body as it is relayed and extracts token usage without holding the stream back: SSE lines
 * are scanned as they pass and only those mentioning usage are parsed; a JSON body is kept (up to 1 MiB) and
 * parsed once it ended.
 */
export class UsageTap {
  readonly usage: Usage = { promptTokens: null, completionTokens: null };
  private pending = '';
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly provider: Provider,
    private readonly mode: 'sse' | 'json' | 'none',
    /** Content-Encoding of a JSON body: decoded on the side, after the bytes went out untouched. */
    private readonly encoding: string | undefined = undefined,
  ) {}

  /** Feeds one relayed chunk. */
  push(chunk: Buffer): void {
    if (this.mode === 'sse') this.scan(chunk.toString('utf8'));
    else if (this.mode === 'json' && this.size < JSON_LIMIT) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  /** Finishes after the body ended. */
  end(): Usage {
    if (this.mode === 'sse' && this.pending) this.line(this.pending);
    if (this.mode === 'json' && this.size > 0 && this.size < JSON_LIMIT) {
      try {
        // Synchronous: the body is at most 1 MiB, and `end` answers before the request is recorded.
        const raw = decodeBodySync(Buffer.concat(this.chunks, this.size), this.encoding, 4 * JSON_LIMIT);
        merge(this.usage, this.provider.usageFromJson(JSON.parse(raw.toString('utf8'))));
      } catch {
        // Not JSON after all, or not decodable: no usage.
      }
    }
    return this.usage;
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
