/**
 * A scriptable fake of the OpenAI, Anthropic and Gemini HTTP APIs for tests: a real `node:http` server on
 * 127.0.0.1 that answers in each provider's wire format (JSON and SSE), records every request, and can be
 * told per key to fail, stall, hang, cut streams or drop connections.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import {
  anthropicEvents,
  anthropicModelList,
  anthropicMessage,
  asRecord,
  chatCompletion,
  chatCompletionEvents,
  embeddingFor,
  estimateTokens,
  geminiModel,
  geminiModelList,
  geminiResponse,
  geminiStreamChunks,
  openaiEmbeddings,
  openaiModel,
  openaiModelList,
  providerError,
  randomId,
  responseEvents,
  responseObject,
  sseGemini,
  type AnswerContext,
  type ErrorOverrides,
  type FakeProvider,
} from './fake-wire';
import { toolCallFor, toolReply } from './fake-tools';

export type { FakeProvider } from './fake-wire';

/**
 * How the fake answers a request. Fields combine (e.g. `{ delayMs: 200, status: 500 }`); an empty object
 * means "answer normally".
 *
 * @example fake.setKeyBehaviour('sk-a', { status: 429, headers: { 'retry-after': '7' } }) // always 429
 * @example fake.setKeyBehaviour('sk-b', { status: 500, times: 2 })       // fail twice, then answer normally
 * @example fake.setKeyBehaviour('sk-c', { status: 403, message: 'Your account has been suspended.' })
 * @example fake.setKeyBehaviour('sk-d', { breakStreamAfterChunks: 3 })   // cut streams after 3 SSE events
 */
export interface FakeBehaviour {
  /** Answer with this status. A status >= 400 without `body` produces an error in the provider's own shape. */
  status?: number;
  /** Body sent with `status` instead of the provider-shaped error: a string as-is, anything else as JSON. */
  body?: unknown;
  /** Extra response headers (e.g. `{ 'retry-after': '7' }`), also added to successful answers. */
  headers?: Record<string, string>;
  /** Message of the provider-shaped error (e.g. `"Your account has been suspended."`). */
  message?: string;
  /** Provider error type: OpenAI/Anthropic `error.type`, Gemini `error.status` (e.g. `"insufficient_quota"`). */
  errorType?: string;
  /** OpenAI `error.code` (e.g. `"insufficient_quota"`). */
  errorCode?: string;
  /** Wait this long before sending response headers. */
  delayMs?: number;
  /** Never answer (until the client gives up or the fake closes). */
  hangHeaders?: boolean;
  /** Close the socket without any response. */
  destroy?: boolean;
  /**
   * Send this many SSE events, then destroy the socket without finishing the chunked body. On a
   * non-streaming answer: send the headers and half of the body, then destroy.
   */
  breakStreamAfterChunks?: number;
  /** Delay between SSE events (overrides `options.streamChunkDelayMs`). */
  streamChunkDelayMs?: number;
  /**
   * Apply this behaviour only to requests for this model (the body's `model`, or the model in a Gemini path);
   * requests for other models are answered as if it were not set, and do not count towards `times`.
   */
  model?: string;
  /** Apply this behaviour to the next `times` requests only, then move on to `then`. */
  times?: number;
  /** What follows once `times` is used up (default: the default behaviour, normally "answer normally"). */
  then?: FakeBehaviour;
}

/** Options of {@link startFakeUpstream}. All but `port` can be changed later through `fake.options`. */
export interface FakeUpstreamOptions {
  /** Accepted credentials: a list, or a predicate. Default: any key starting with `sk-` or `AIza`. */
  validKeys?: readonly string[] | ((key: string) => boolean);
  /** The answer text, one element per stream delta. Default `['Hello', ' from', ' fake', ' upstream']`. */
  responseChunks?: readonly string[];
  /** Delay between SSE events, in ms. Default 5. */
  streamChunkDelayMs?: number;
  /** Gzip non-streaming JSON answers when the request sends `Accept-Encoding: gzip`. Default false. */
  gzip?: boolean;
  /** Model ids listed by `GET /v1/models`. */
  openaiModels?: readonly string[];
  /** Model ids (without `models/`) listed by `GET /v1beta/models` and `/v1beta/openai/models`. */
  geminiModels?: readonly string[];
  /** Length of embedding vectors when the request does not ask for one. Default 8. */
  embeddingDimensions?: number;
  /** Port to listen on. Default 0 (a random free port). */
  port?: number;
}

/** The live settings of a fake (`fake.options`); mutable between requests. */
export interface FakeUpstreamSettings {
  validKeys: readonly string[] | ((key: string) => boolean);
  responseChunks: readonly string[];
  streamChunkDelayMs: number;
  gzip: boolean;
  openaiModels: readonly string[];
  geminiModels: readonly string[];
  embeddingDimensions: number;
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  query: URLSearchParams;
  /** Request headers with lower-case names (repeated headers joined with `, `). */
  headers: Record<string, string>;
  /** The credential carried: Bearer token, `x-api-key`, `x-goog-api-key` or `?key=`, if any. */
  key: string | undefined;
  /** Which API surface the path belongs to, if recognised. */
  provider: FakeProvider | undefined;
  /** The raw request body. */
  body: string;
  /** `Date.now()` when the body had been read. */
  time: number;
  /** True once the client closed the connection before the fake finished answering. */
  aborted: boolean;
}

/** A running fake upstream. */
export interface FakeUpstream {
  /** Base URL, `http://127.0.0.1:PORT` (append `/v1` for the OpenAI SDK). */
  readonly url: string;
  readonly port: number;
  /** Live settings; e.g. `fake.options.gzip = true`. */
  readonly options: FakeUpstreamSettings;
  /** Every request received, in arrival order (cleared in place by `reset()`). */
  readonly requests: readonly RecordedRequest[];
  /** How many requests the client abandoned before the fake finished answering. */
  readonly aborted: number;
  /** Scripts how requests carrying `key` are answered; `undefined` clears it. */
  setKeyBehaviour(key: string, behaviour: FakeBehaviour | undefined): void;
  /** Scripts how requests without a key-specific behaviour are answered; `undefined` clears it. */
  setDefaultBehaviour(behaviour: FakeBehaviour | undefined): void;
  /** Clears recorded requests, the aborted count and all behaviours (options are kept). */
  reset(): void;
  /** Distinct credentials seen, in first-seen order. */
  keysSeen(): string[];
  /** Resolves with the first recorded request matching `predicate` (waiting for it if needed). */
  waitFor(predicate: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves once at least `count` requests have been aborted by their client. */
  waitForAborted(count?: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

interface JsonReply {
  kind: 'json';
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

interface StreamReply {
  kind: 'stream';
  contentType: string;
  events: string[];
  headers: Record<string, string>;
}

type Reply = JsonReply | StreamReply;

type Operation =
  | 'chat'
  | 'responses'
  | 'models'
  | 'model'
  | 'embeddings'
  | 'messages'
  | 'count-tokens'
  | 'generate'
  | 'stream-generate'
  | 'gemini-count-tokens'
  | 'embed'
  | 'batch-embed'
  | 'gemini-models'
  | 'anthropic-models'
  | 'gemini-model';

interface Route {
  provider: FakeProvider;
  op: Operation | undefined;
  /** Model id from the path (Gemini / OpenAI model retrieval). */
  model?: string;
}

type CredentialSource = 'bearer' | 'x-api-key' | 'x-goog-api-key' | 'query';

interface Credential {
  key: string | undefined;
  source: CredentialSource | undefined;
  bearer: string | undefined;
  xApiKey: string | undefined;
  googKey: string | undefined;
}

interface BehaviourSlot {
  current: FakeBehaviour | undefined;
  used: number;
}

const defaultValidKey = (key: string): boolean => key.startsWith('sk-') || key.startsWith('AIza');

/** The `model` a JSON request body names, if any (for model-scoped behaviours). */
function bodyModel(raw: string): string | undefined {
  if (!raw.includes('"model"')) return undefined;
  try {
    const m = asRecord(JSON.parse(raw))?.model;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function lowerHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function extractCredential(headers: Record<string, string>, query: URLSearchParams): Credential {
  const auth = headers.authorization;
  const bearer = auth && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : undefined;
  const xApiKey = headers['x-api-key'];
  const googKey = headers['x-goog-api-key'] ?? query.get('key') ?? undefined;
  const source: CredentialSource | undefined = bearer
    ? 'bearer'
    : xApiKey
      ? 'x-api-key'
      : headers['x-goog-api-key']
        ? 'x-goog-api-key'
        : query.get('key')
          ? 'query'
          : undefined;
  return { key: bearer ?? xApiKey ?? googKey, source, bearer, xApiKey, googKey };
}

const geminiOps: Record<string, Operation> = {
  generateContent: 'generate',
  streamGenerateContent: 'stream-generate',
  countTokens: 'gemini-count-tokens',
  embedContent: 'embed',
  batchEmbedContents: 'batch-embed',
};

/** OpenAI-shaped operations under `/v1` or `/v1beta/openai`. */
function openaiRoute(provider: FakeProvider, method: string, sub: string): Route {
  if (method === 'POST' && sub === '/chat/completions') return { provider, op: 'chat' };
  if (method === 'POST' && sub === '/responses' && provider === 'openai')
    return { provider, op: 'responses' };
  if (method === 'POST' && sub === '/embeddings') return { provider, op: 'embeddings' };
  if (method === 'GET' && sub === '/models') return { provider, op: 'models' };
  const model = /^\/models\/(.+)$/.exec(sub);
  if (method === 'GET' && model?.[1]) return { provider, op: 'model', model: decodeURIComponent(model[1]) };
  return { provider, op: undefined };
}

/** Model ids listed by Anthropic's `GET /v1/models`. */
const ANTHROPIC_MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5'];

function matchRoute(method: string, path: string, cred: Credential): Route | undefined {
  const gemini = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):([A-Za-z]+)$/.exec(path);
  if (gemini?.[1] && gemini[2]) {
    const op = method === 'POST' ? geminiOps[gemini[2]] : undefined;
    return { provider: 'gemini', op, model: decodeURIComponent(gemini[1]) };
  }
  if (path.startsWith('/v1beta/openai/'))
    return openaiRoute('gemini-openai', method, path.slice('/v1beta/openai'.length));
  const googleCredential = cred.source === 'x-goog-api-key' || cred.source === 'query';
  if (path.startsWith('/v1beta/') || (googleCredential && path.startsWith('/v1/models'))) {
    const list = /^\/v1(?:beta)?\/models\/?$/.test(path);
    const one = /^\/v1(?:beta)?\/models\/([^/:]+)$/.exec(path);
    if (method === 'GET' && list) return { provider: 'gemini', op: 'gemini-models' };
    if (method === 'GET' && one?.[1])
      return { provider: 'gemini', op: 'gemini-model', model: decodeURIComponent(one[1]) };
    return { provider: 'gemini', op: undefined };
  }
  if (path === '/v1/messages')
    return { provider: 'anthropic', op: method === 'POST' ? 'messages' : undefined };
  // Anthropic lists its models at OpenAI's path; its key travels as x-api-key.
  if (cred.source === 'x-api-key' && method === 'GET' && /^\/v1\/models\/?$/.test(path))
    return { provider: 'anthropic', op: 'anthropic-models' };
  if (path === '/v1/messages/count_tokens') {
    return { provider: 'anthropic', op: method === 'POST' ? 'count-tokens' : undefined };
  }
  if (path.startsWith('/v1/')) return openaiRoute('openai', method, path.slice('/v1'.length));
  return undefined;
}

/** Masks a key the way OpenAI's 401 message does (`sk-abc****wxyz`). */
function maskKey(key: string): string {
  return key.length <= 8
    ? '****'
    : `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}

function stringsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) {
    if (input.every((item) => typeof item === 'string')) return input;
    if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
    return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  }
  return [];
}

function geminiContentText(content: unknown): string {
  const parts = asRecord(content)?.parts;
  if (!Array.isArray(parts)) return typeof content === 'string' ? content : '';
  return parts
    .map((p) => asRecord(p)?.text)
    .filter((t): t is string => typeof t === 'string')
    .join(' ');
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Writes a chunk and resolves once it was handed to the socket (or the response closed). */
function write(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve();
    res.once('close', onClose);
    res.write(chunk, () => {
      res.off('close', onClose);
      resolve();
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

class FakeUpstreamServer implements FakeUpstream {
  readonly options: FakeUpstreamSettings;
  readonly requests: RecordedRequest[] = [];
  url = '';
  port = 0;
  private abortedCount = 0;
  private closing = false;
  private readonly server = createServer({ noDelay: true, keepAlive: true }, (req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake upstream crashed: ${String(error)}`);
      } else {
        this.selfDestroy(res);
      }
    });
  });
  private readonly sockets = new Set<Socket>();
  private readonly selfDestroyed = new WeakSet<ServerResponse>();
  private readonly keySlots = new Map<string, BehaviourSlot>();
  private defaultSlot: BehaviourSlot = { current: undefined, used: 0 };
  private readonly listeners = new Set<() => void>();

  constructor(options: FakeUpstreamOptions) {
    this.options = {
      validKeys: options.validKeys ?? defaultValidKey,
      responseChunks: options.responseChunks ?? ['Hello', ' from', ' fake', ' upstream'],
      streamChunkDelayMs: options.streamChunkDelayMs ?? 5,
      gzip: options.gzip ?? false,
      openaiModels: options.openaiModels ?? ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'text-embedding-3-small'],
      geminiModels: options.geminiModels ?? [
        'gemini-2.5-flash',
        'gemini-2.5-pro',
        'gemini-2.0-flash',
        'gemini-embedding-001',
        'text-embedding-004',
      ],
      embeddingDimensions: options.embeddingDimensions ?? 8,
    };
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get aborted(): number {
    return this.abortedCount;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  setKeyBehaviour(key: string, behaviour: FakeBehaviour | undefined): void {
    if (behaviour === undefined) this.keySlots.delete(key);
    else this.keySlots.set(key, { current: behaviour, used: 0 });
  }

  setDefaultBehaviour(behaviour: FakeBehaviour | undefined): void {
    this.defaultSlot = { current: behaviour, used: 0 };
  }

  reset(): void {
    this.requests.length = 0;
    this.abortedCount = 0;
    this.keySlots.clear();
    this.defaultSlot = { current: undefined, used: 0 };
  }

  keysSeen(): string[] {
    const keys = new Set<string>();
    for (const r of this.requests) if (r.key !== undefined) keys.add(r.key);
    return [...keys];
  }

  waitFor(predicate: (request: RecordedRequest) => boolean, timeoutMs = 2000): Promise<RecordedRequest> {
    return this.waitUntil(
      () => this.requests.find(predicate),
      timeoutMs,
      () =>
        `no matching request among ${this.requests.length}: ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    );
  }

  async waitForAborted(count = 1, timeoutMs = 2000): Promise<void> {
    await this.waitUntil(
      () => (this.abortedCount >= count ? true : undefined),
      timeoutMs,
      () => `expected ${count} aborted request(s), saw ${this.abortedCount}`,
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // -------------------------------------------------------------------------------------------------------

  private waitUntil<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const found = check();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const listener = (): void => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`fake upstream: timed out after ${timeoutMs} ms, ${describe()}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private selfDestroy(res: ServerResponse): void {
    this.selfDestroyed.add(res);
    res.socket?.destroy();
    res.destroy();
  }

  private nextBehaviour(key: string | undefined, model: string | undefined): FakeBehaviour | undefined {
    const keySlot = key === undefined ? undefined : this.keySlots.get(key);
    const fromKey = keySlot ? this.advance(keySlot, model) : undefined;
    return fromKey ?? this.advance(this.defaultSlot, model);
  }

  private advance(slot: BehaviourSlot, model: string | undefined): FakeBehaviour | undefined {
    while (slot.current) {
      const b = slot.current;
      if (b.model !== undefined && b.model !== model) return undefined;
      if (b.times === undefined) return b;
      if (slot.used < b.times) {
        slot.used++;
        return b;
      }
      slot.current = b.then;
      slot.used = 0;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seen: { record?: RecordedRequest } = {};
    res.on('close', () => {
      if (res.writableFinished || this.selfDestroyed.has(res) || this.closing) return;
      this.abortedCount++;
      if (seen.record) seen.record.aborted = true;
      this.notify();
    });

    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const method = req.method ?? 'GET';
    const headers = lowerHeaders(req.headers);
    const cred = extractCredential(headers, url.searchParams);
    const route = matchRoute(method, url.pathname, cred);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers,
      key: cred.key,
      provider: route?.provider,
      body: raw,
      time: Date.now(),
      aborted: false,
    };
    seen.record = record;
    this.requests.push(record);
    this.notify();

    const behaviour = this.nextBehaviour(cred.key, route?.model ?? bodyModel(raw));
    if (behaviour?.delayMs) {
      await sleep(behaviour.delayMs);
      if (res.destroyed) return;
    }
    if (behaviour?.hangHeaders) return;
    if (behaviour?.destroy) {
      this.selfDestroy(res);
      return;
    }

    const provider = route?.provider ?? (url.pathname.startsWith('/v1beta') ? 'gemini' : 'openai');
    let reply: Reply;
    if (behaviour?.status !== undefined && (behaviour.body !== undefined || behaviour.status >= 400)) {
      const retryAfter = behaviour.headers?.['retry-after'];
      reply =
        behaviour.body !== undefined
          ? { kind: 'json', status: behaviour.status, body: behaviour.body, headers: {} }
          : this.error(provider, behaviour.status, {
              message: behaviour.message,
              type: behaviour.errorType,
              code: behaviour.errorCode,
              retryDelay: retryAfter && /^\d+$/.test(retryAfter) ? `${retryAfter}s` : undefined,
            });
    } else {
      reply = this.answer(route, provider, method, url, raw, headers, cred);
    }
    reply.headers = { ...reply.headers, ...behaviour?.headers };

    if (reply.kind === 'json') await this.sendJson(req, res, reply, behaviour);
    else await this.sendStream(res, reply, behaviour);
  }

  /** Per-provider response headers (request ids). */
  private providerHeaders(provider: FakeProvider): Record<string, string> {
    if (provider === 'anthropic') return { 'request-id': `req_${randomId(12)}` };
    if (provider === 'openai') return { 'x-request-id': `req_${randomId(16)}` };
    return {};
  }

  private error(provider: FakeProvider, status: number, overrides: ErrorOverrides = {}): JsonReply {
    return {
      kind: 'json',
      status,
      body: providerError(provider, status, overrides),
      headers: this.providerHeaders(provider),
    };
  }

  /** Auth checks, then the normal answer for the route. */
  private answer(
    route: Route | undefined,
    provider: FakeProvider,
    method: string,
    url: URL,
    raw: string,
    headers: Record<string, string>,
    cred: Credential,
  ): Reply {
    if (!route?.op) {
      return this.error(provider, 404, { message: `Invalid URL (${method} ${url.pathname})` });
    }

    const key = this.credentialFor(route.provider, cred);
    if (key === undefined) return this.missingKey(route.provider);
    if (!this.isValidKey(key)) return this.invalidKey(route.provider, key);
    if (route.provider === 'anthropic' && !headers['anthropic-version']) {
      return this.error('anthropic', 400, { message: 'anthropic-version: header is required' });
    }

    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return this.error(route.provider, 400, {
          message: 'We could not parse the JSON body of your request.',
        });
      }
      const rec = asRecord(parsed);
      if (!rec)
        return this.error(route.provider, 400, { message: 'The request body must be a JSON object.' });
      body = rec;
    } else if (method === 'POST') {
      return this.error(route.provider, 400, { message: 'The request body is empty.' });
    }

    const model = route.model ?? (typeof body.model === 'string' ? body.model : 'fake-model');
    const ctx: AnswerContext = {
      model,
      chunks: this.options.responseChunks,
      promptTokens: estimateTokens(body),
    };
    return this.operation(route, ctx, body, url);
  }

  private operation(route: Route, ctx: AnswerContext, body: Record<string, unknown>, url: URL): Reply {
    const { provider } = route;
    const ok = (payload: unknown): JsonReply => ({
      kind: 'json',
      status: 200,
      body: payload,
      headers: this.providerHeaders(provider),
    });
    const stream = (events: string[], contentType = 'text/event-stream; charset=utf-8'): StreamReply => ({
      kind: 'stream',
      contentType,
      events,
      headers: this.providerHeaders(provider),
    });
    const dims = positiveInt(body.dimensions ?? body.outputDimensionality, this.options.embeddingDimensions);
    // A request offering tools gets a call of the first one (see fake-tools.ts).
    const call = toolCallFor(provider, body);
    const tools = call && toolReply(route.op ?? '', call, ctx, body.stream === true);
    if (tools) return 'json' in tools ? ok(tools.json) : stream(tools.events);

    switch (route.op) {
      case 'chat': {
        if (body.stream !== true) return ok(chatCompletion(ctx));
        const includeUsage = asRecord(body.stream_options)?.include_usage === true;
        return stream(chatCompletionEvents(ctx, includeUsage));
      }
      case 'responses':
        return body.stream === true ? stream(responseEvents(ctx, body)) : ok(responseObject(ctx, body));
      case 'models':
        return provider === 'gemini-openai'
          ? ok(
              openaiModelList(
                this.options.geminiModels.map((id) => `models/${id}`),
                'google',
              ),
            )
          : ok(openaiModelList(this.options.openaiModels, 'system'));
      case 'model':
        return ok(openaiModel(route.model ?? ctx.model, provider === 'gemini-openai' ? 'google' : 'system'));
      case 'embeddings':
        return ok(
          openaiEmbeddings(
            ctx.model,
            stringsOf(body.input),
            dims,
            body.encoding_format === 'base64',
            ctx.promptTokens,
          ),
        );
      case 'messages':
        return body.stream === true ? stream(anthropicEvents(ctx)) : ok(anthropicMessage(ctx));
      case 'count-tokens':
        return ok({ input_tokens: ctx.promptTokens });
      case 'generate':
        return ok(geminiResponse(ctx));
      case 'stream-generate': {
        const chunks = geminiStreamChunks(ctx);
        if (url.searchParams.get('alt') === 'sse') return stream(chunks.map(sseGemini));
        // Without alt=sse Gemini streams one JSON array.
        const parts = chunks.map((c, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(c)}`);
        parts.push(']');
        return stream(parts, 'application/json; charset=UTF-8');
      }
      case 'gemini-count-tokens':
        return ok({ totalTokens: ctx.promptTokens });
      case 'embed':
        return ok({ embedding: { values: embeddingFor(geminiContentText(body.content), dims) } });
      case 'batch-embed': {
        const requests = Array.isArray(body.requests) ? body.requests : [];
        return ok({
          embeddings: requests.map((r) => {
            const rec = asRecord(r);
            const d = positiveInt(rec?.outputDimensionality, dims);
            return { values: embeddingFor(geminiContentText(rec?.content), d) };
          }),
        });
      }
      case 'anthropic-models':
        return ok(anthropicModelList(ANTHROPIC_MODELS));
      case 'gemini-models':
        return ok(
          geminiModelList(
            this.options.geminiModels,
            Number.parseInt(url.searchParams.get('pageSize') ?? '', 10) || 0,
            url.searchParams.get('pageToken'),
          ),
        );
      case 'gemini-model': {
        const id = (route.model ?? '').replace(/^models\//, '');
        return this.options.geminiModels.includes(id)
          ? ok(geminiModel(id))
          : this.error('gemini', 404, { message: `models/${id} is not found for API version v1beta.` });
      }
      default:
        return this.error(provider, 404);
    }
  }

  private credentialFor(provider: FakeProvider, cred: Credential): string | undefined {
    switch (provider) {
      case 'anthropic':
        return cred.xApiKey ?? cred.bearer;
      case 'gemini':
        return cred.googKey;
      default:
        return cred.bearer;
    }
  }

  private isValidKey(key: string): boolean {
    const valid = this.options.validKeys;
    return typeof valid === 'function' ? valid(key) : valid.includes(key);
  }

  private missingKey(provider: FakeProvider): JsonReply {
    switch (provider) {
      case 'anthropic':
        return this.error(provider, 401, { message: 'x-api-key header is required' });
      case 'gemini':
        return this.error(provider, 401, {
          message:
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        });
      default:
        return this.error(provider, 401, {
          message:
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          code: null,
        });
    }
  }

  private invalidKey(provider: FakeProvider, key: string): JsonReply {
    switch (provider) {
      case 'anthropic':
        return this.error(provider, 401, { message: 'invalid x-api-key' });
      case 'gemini':
        return this.error(provider, 401);
      default:
        return this.error(provider, 401, {
          message: `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        });
    }
  }

  private async sendJson(
    req: IncomingMessage,
    res: ServerResponse,
    reply: JsonReply,
    behaviour: FakeBehaviour | undefined,
  ): Promise<void> {
    let payload: Buffer;
    let contentType = 'application/json';
    if (typeof reply.body === 'string') {
      payload = Buffer.from(reply.body, 'utf8');
      try {
        JSON.parse(reply.body);
      } catch {
        contentType = 'text/plain; charset=utf-8';
      }
    } else {
      payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
    }
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.options.gzip && /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '')) {
      payload = gzipSync(payload);
      headers['content-encoding'] = 'gzip';
      headers.vary = 'Accept-Encoding';
    }
    Object.assign(headers, reply.headers);
    headers['content-length'] = String(payload.length);
    if (res.destroyed) return;
    res.writeHead(reply.status, headers);
    if (behaviour?.breakStreamAfterChunks !== undefined) {
      await write(res, payload.subarray(0, Math.floor(payload.length / 2)));
      this.selfDestroy(res);
      return;
    }
    res.end(payload);
  }

  private async sendStream(
    res: ServerResponse,
    reply: StreamReply,
    behaviour: FakeBehaviour | undefined,
  ): Promise<void> {
    const delay = behaviour?.streamChunkDelayMs ?? this.options.streamChunkDelayMs;
    const breakAfter = behaviour?.breakStreamAfterChunks;
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': reply.contentType,
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...reply.headers,
    });
    res.flushHeaders();
    for (const [i, event] of reply.events.entries()) {
      if (breakAfter !== undefined && i >= breakAfter) break;
      if (i > 0 && delay > 0) await sleep(delay);
      if (res.destroyed) return;
      await write(res, event);
    }
    if (breakAfter !== undefined) {
      if (delay > 0) await sleep(delay);
      this.selfDestroy(res);
      return;
    }
    if (!res.destroyed) res.end();
  }
}

/**
 * Starts a fake OpenAI / Anthropic / Gemini upstream on 127.0.0.1 (random port unless `options.port`).
 *
 * Routes: OpenAI `POST /v1/chat/completions`, `POST /v1/responses`, `GET /v1/models[/{id}]`,
 * `POST /v1/embeddings`; Anthropic `POST /v1/messages[/count_tokens]` (needs `anthropic-version`);
 * Gemini `POST /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens|embedContent|
 * batchEmbedContents`, `GET /v1beta/models[/{model}]`; Gemini's OpenAI surface under `/v1beta/openai/`.
 *
 * @example
 * const fake = await startFakeUpstream();
 * const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
 * afterAll(() => fake.close());
 */
export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const fake = new FakeUpstreamServer(options);
  await fake.listen(options.port ?? 0);
  return fake;
}
