import type { Channel, TranslateDialect } from '@keyway/contracts';

/**
 * Format translation (API.md "Format translation"): a caller speaking `from` is served by a group of channel `to`.
 * One {@link Translator} per direction; the gateway only picks one (`translatorFor`) and runs it at two points:
 * the caller's request becomes a native request of the group's channel before anything else looks at it (model
 * redirects, key pick, usage, key health and logging then work on native bytes as for any request), and the
 * upstream's native response becomes the caller's dialect on its way out.
 */

/** A request the caller sent, already JSON-parsed by the gateway (bounded size and depth). */
export interface CallerRequest {
  /** Path after `/proxy/{group}` (or the root path for key-routed endpoints), e.g. `/v1/chat/completions`. */
  path: string;
  /** Raw query string without `?`, proxy `key` removed. */
  query: string;
  body: unknown;
}

/** The native request the translator made: sent upstream as if the caller had sent it. */
export interface NativeRequest {
  /** Path after the group's upstream base, e.g. `/v1/messages` or `/v1beta/models/{model}:streamGenerateContent`. */
  path: string;
  query: string;
  body: string;
  stream: boolean;
  /** The model the caller asked for (what the caller sees in responses). */
  model: string;
  /**
   * OpenAI callers: whether they asked for the final usage chunk (`stream_options.include_usage`). The gateway
   * hands the native request back to {@link Translator.stream} (`translator.stream(native)`), so no dialect
   * detail leaks into the request path.
   */
  includeUsage?: boolean;
}

/** One server-sent event as parsed from the upstream stream (`event:` may be absent; `data:` lines joined by `\n`). */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Converts one upstream stream, event by event, into the caller's SSE bytes (text). */
export interface StreamTranslator {
  /** The caller-dialect SSE text for one upstream event ('' when it maps to nothing yet). */
  push(event: SseEvent): string;
  /**
   * The upstream stream ended cleanly: the caller's terminal events (`[DONE]`, `message_stop`) if the upstream's
   * own end was seen; when it ended without its terminal event, '' — the gateway then breaks the caller's stream
   * as it would a native one.
   */
  end(): string;
  /** Whether the upstream's terminal event was seen (a stream ended before it is broken). */
  readonly complete: boolean;
}

/** A caller-side failure: what cannot be converted. Answered 400 in the caller's dialect, naming the field. */
export class TranslationError extends Error {
  constructor(
    /** JSON path of the field in the caller's request, e.g. `logprobs` or `messages[2].content[0].type`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'TranslationError';
  }
}

export interface Translator {
  readonly from: TranslateDialect;
  readonly to: Channel;
  /** Whether this caller path is a translatable endpoint (`/v1/chat/completions`, `/v1/messages`). */
  accepts(method: string, path: string): boolean;
  /**
   * The caller's request as the upstream's native request. `upstreamModel` is the model the upstream is asked
   * for (the caller's, or after the group's redirects when the gateway applies them first — the gateway passes
   * the caller's model and redirects the native body afterwards). Throws {@link TranslationError}.
   */
  request(req: CallerRequest): NativeRequest;
  /** A complete upstream JSON success body (parsed) as the caller's JSON body. */
  response(upstream: unknown, ctx: { model: string }): unknown;
  /** {@link response} as JSON text: the same text as `JSON.stringify` of it (what the gateway sends). */
  responseText(upstream: unknown, ctx: { model: string }): string;
  /** An upstream error (status ≥ 400, raw body) as the caller's error body, keeping the upstream's message. */
  error(status: number, upstreamBody: string): string;
  /** A new per-response stream converter. */
  stream(ctx: { model: string; includeUsage?: boolean }): StreamTranslator;
}
