import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FinishedSpan, SpanBatchEncoder } from './otlp-encode';
import type { TraceSettings } from './otel-settings';

const gzipAsync = promisify(gzip);

/** Statuses the OTLP/HTTP specification calls retryable (https://opentelemetry.io/docs/specs/otlp/#retryable-response-codes). */
const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
/** Dropped spans are reported at most this often. */
const DROP_REPORT_MS = 10_000;

type PostResult =
  { ok: true } | { ok: false; retryable: boolean; retryAfterMs: number | null; reason: string };
/** A post's result, and whether its body was written whole to the socket before it settled. */
type SentPost = PostResult & { flushed: boolean };

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The batch span processor and OTLP/HTTP exporter in one: spans are encoded as they end, a batch is sent when it
 * holds `maxExportBatchSize` spans or its first span has waited `scheduleDelayMs`, one batch in flight at a time,
 * retried on the retryable statuses and network errors with exponential backoff (honouring `Retry-After`) for at
 * most `exportTimeoutMs`. Beyond `maxQueueSize` held spans, new ones are dropped and counted: a slow collector
 * never grows the gateway's memory.
 */
export class OtlpExporter {
  private queued = 0;
  private dropped = 0;
  private lastDropReport = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly batches: Array<{ body: Buffer[]; spans: number }> = [];
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;

  constructor(
    url: string,
    private readonly settings: TraceSettings,
    private readonly encoder: SpanBatchEncoder,
    private readonly onError: (message: string) => void,
  ) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = https ? httpsRequest : httpRequest;
  }

  /** Takes a span that ended (after shutdown: dropped). */
  add(span: FinishedSpan): void {
    if (this.closed) return;
    if (this.queued >= this.settings.maxQueueSize) {
      this.dropped++;
      this.reportDrops();
      return;
    }
    this.encoder.add(span);
    this.queued++;
    if (this.encoder.count >= this.settings.maxExportBatchSize) this.seal();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.seal(), this.settings.scheduleDelayMs);
      this.timer.unref();
    }
  }

  /** Sends what is held and stops; resolves when sent (or given up after the export timeout). */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.seal();
    if (this.sending) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.settings.exportTimeoutMs);
      });
      await Promise.race([this.sending, limit]);
      clearTimeout(timer);
    }
    this.agent.destroy();
  }

  private seal(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const spans = this.encoder.count;
    if (spans === 0) return;
    this.batches.push({ body: this.encoder.take(), spans });
    this.sending ??= this.drain();
  }

  private async drain(): Promise<void> {
    for (let batch = this.batches.shift(); batch; batch = this.batches.shift()) {
      try {
        await this.exportBatch(batch.body, batch.spans);
      } catch (error) {
        this.onError(
          `trace export failed: ${error instanceof Error ? error.name : 'Error'}; ${batch.spans} spans dropped`,
        );
      } finally {
        this.queued -= batch.spans;
      }
    }
    this.sending = null;
  }

  private async exportBatch(raw: Buffer[], spans: number): Promise<void> {
    const gzipped = this.settings.compression === 'gzip';
    let body = raw;
    if (gzipped) {
      const whole = Buffer.concat(raw);
      // The raw parts were copied: the encoder may write its next batches over them.
      this.encoder.recycle(raw);
      body = [await gzipAsync(whole)];
    }
    const deadline = Date.now() + this.settings.exportTimeoutMs;
    let backoff = FIRST_BACKOFF_MS;
    let result: SentPost = {
      ok: false,
      retryable: true,
      retryAfterMs: null,
      reason: 'not sent',
      flushed: false,
    };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      result = await this.post(body, gzipped, Math.min(this.settings.timeoutMs, left));
      if (result.ok || !result.retryable || attempt === MAX_ATTEMPTS) break;
      // Jittered exponential backoff, or the collector's Retry-After, within what is left of the export timeout.
      const wait = result.retryAfterMs ?? backoff * (0.8 + Math.random() * 0.4);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 1.5);
      if (Date.now() + wait >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
    if (!result.ok) this.onError(`trace export failed: ${result.reason}; ${spans} spans dropped`);
    // Only once node handed every byte of the last attempt to the socket: a request cut short (a timeout) or
    // answered before it was written whole keeps its buffers, which are then left to the collector.
    if (!gzipped && result.flushed) this.encoder.recycle(raw);
  }

  private post(body: Buffer[], gzipped: boolean, timeoutMs: number): Promise<SentPost> {
    let length = 0;
    for (const part of body) length += part.length;
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: PostResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Every byte handed to the socket (false for a request destroyed or answered before it was written whole).
        resolve({ ...r, flushed: req.writableFinished });
      };
      const req = this.send(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.settings.headers,
            'content-type': this.encoder.contentType,
            'content-length': length,
            'user-agent': 'keyway-otlp-exporter',
            ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
          },
        },
        (res: IncomingMessage) => {
          res.resume();
          res.on('error', () =>
            done({ ok: false, retryable: true, retryAfterMs: null, reason: 'response broken' }),
          );
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return done({ ok: true });
            done({
              ok: false,
              retryable: RETRYABLE.has(status),
              retryAfterMs: retryAfterMs(res.headers['retry-after']),
              // The status only: a collector's body could echo a header, and headers carry credentials.
              reason: `the collector answered ${status}`,
            });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        done({ ok: false, retryable: true, retryAfterMs: null, reason: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        done({ ok: false, retryable: true, retryAfterMs: null, reason: error.code ?? error.name }),
      );
      for (const part of body) req.write(part);
      req.end();
    });
  }

  private reportDrops(): void {
    const now = Date.now();
    if (now - this.lastDropReport < DROP_REPORT_MS) return;
    this.lastDropReport = now;
    this.onError(
      `trace export queue full (OTEL_BSP_MAX_QUEUE_SIZE=${this.settings.maxQueueSize}): ${this.dropped} spans dropped so far`,
    );
  }
}
