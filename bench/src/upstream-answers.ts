/**
 * What the bench upstream (upstream-proc.ts) answers, built once so that a request costs a few microseconds: the
 * OpenAI chat completion JSON and SSE events as ready buffers, and the cheap request reading the hot path needs
 * instead of parsing JSON (the credential from the raw headers, `"stream":true` by a byte search). Pure.
 */

/** The bench's chat model; every answer names it (the bench only ever asks for this one). */
export const BENCH_MODEL = 'gpt-4o-mini';
const PROMPT_TOKENS = 42;

export interface AnswerSpec {
  /** Content deltas of the answer, e.g. `['Hello', ' word1', …]`; their concatenation is the JSON answer. */
  chunks: readonly string[];
  /** Unix seconds for `created`. */
  created: number;
  /** Suffix of the `chatcmpl-` id. */
  id: string;
}

/** The answer's text, one element per stream delta: `Hello`, ` word1`, ` word2`, … */
export function answerChunks(count: number): string[] {
  return Array.from({ length: Math.max(1, count) }, (_, i) => (i === 0 ? 'Hello' : ` word${i}`));
}

function usage(spec: AnswerSpec): Record<string, number> {
  return {
    prompt_tokens: PROMPT_TOKENS,
    completion_tokens: spec.chunks.length,
    total_tokens: PROMPT_TOKENS + spec.chunks.length,
  };
}

/** A non-streaming `chat.completion` body with every field the official OpenAI SDKs read. */
export function chatCompletionBody(spec: AnswerSpec): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: `chatcmpl-${spec.id}`,
      object: 'chat.completion',
      created: spec.created,
      model: BENCH_MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: spec.chunks.join(''), refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: usage(spec),
      system_fingerprint: 'fp_bench',
    }),
  );
}

/**
 * The SSE events of a streamed chat completion, one buffer per event: the role, one per delta, the finish, the
 * usage chunk when `includeUsage` (`stream_options.include_usage`), then `data: [DONE]`.
 */
export function chatStreamEvents(spec: AnswerSpec, includeUsage: boolean): Buffer[] {
  const event = (choices: unknown[], extra: Record<string, unknown> = {}): Buffer =>
    Buffer.from(
      `data: ${JSON.stringify({
        id: `chatcmpl-${spec.id}`,
        object: 'chat.completion.chunk',
        created: spec.created,
        model: BENCH_MODEL,
        system_fingerprint: 'fp_bench',
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      })}\n\n`,
    );
  const choice = (delta: Record<string, unknown>, finish: string | null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
  });
  const events = [event([choice({ role: 'assistant', content: '', refusal: null }, null)])];
  for (const text of spec.chunks) events.push(event([choice({ content: text }, null)]));
  events.push(event([choice({}, 'stop')]));
  if (includeUsage) events.push(event([], { usage: usage(spec) }));
  events.push(Buffer.from('data: [DONE]\n\n'));
  return events;
}

/** An OpenAI-style error body. */
export function errorBody(message: string, type: string, code: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { message, type, param: null, code } }));
}

const STREAM_TRUE = [Buffer.from('"stream":true'), Buffer.from('"stream": true')];
const INCLUDE_USAGE = [Buffer.from('"include_usage":true'), Buffer.from('"include_usage": true')];
const anyOf = (body: Buffer, needles: readonly Buffer[]): boolean => needles.some((n) => body.includes(n));

/**
 * Whether a chat request body asks for a stream, and for the usage chunk, by a byte search instead of parsing
 * the JSON (the JSON serializers of Node and the SDKs write `"stream":true` or `"stream": true`).
 */
export function streamWanted(body: Buffer): { stream: boolean; includeUsage: boolean } {
  const stream = anyOf(body, STREAM_TRUE);
  return { stream, includeUsage: stream && anyOf(body, INCLUDE_USAGE) };
}

/** The Bearer token of node's `req.rawHeaders` (name, value, name, value…), without building `req.headers`. */
export function bearerKey(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(rawHeaders[i + 1] as string);
    return m?.[1];
  }
  return undefined;
}

/** Requests per upstream key and per path since the last reset, and streams the client cut short. */
export class RequestCounters {
  total = 0;
  aborted = 0;
  private keys = new Map<string, number>();
  private paths = new Map<string, number>();

  count(key: string | undefined, path: string): void {
    this.total++;
    const k = key ?? '(none)';
    this.keys.set(k, (this.keys.get(k) ?? 0) + 1);
    this.paths.set(path, (this.paths.get(path) ?? 0) + 1);
  }

  reset(): void {
    this.total = 0;
    this.aborted = 0;
    this.keys.clear();
    this.paths.clear();
  }

  /** The `/stats` answer: `{total, aborted, keys: {key: n}, paths: {path: n}}`. */
  toJSON(): { total: number; aborted: number; keys: Record<string, number>; paths: Record<string, number> } {
    return {
      total: this.total,
      aborted: this.aborted,
      keys: Object.fromEntries(this.keys),
      paths: Object.fromEntries(this.paths),
    };
  }
}
