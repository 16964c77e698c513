import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Attempt, RequestLogRecord } from '@keyway/contracts';
import {
  applyHeaderRules,
  classifyOutcome,
  EGRESS_REFUSED_CODE,
  isSendableHeaderValue,
  maskSecret,
  redactSecrets,
  scrubKeyMaterial,
} from '@keyway/core';
import type { Classification, ConfigProblem, Outcome } from '@keyway/core';
import type { KeyPool } from '@keyway/keypool';
import { decodeBody, isModelListRequest, rewriteModelList } from '@keyway/providers';
import type { Dispatcher } from 'undici';
import { rewriteBody } from './body';
import { clientHeaders, upstreamHeaders } from './headers';
import { sendDialectError } from './respond';
import type { GroupRuntime } from './runtime';
import type { StormGuard } from './storm-guard';
import type { UpstreamClients } from './upstream-clients';
import type { UpstreamHealth } from './upstream-health';
import { UsageTap } from './usage-tap';

/** What one proxied request needs beyond the group. */
export interface ForwardContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  group: GroupRuntime;
  path: string;
  query: string;
  body: Buffer | null;
  /** The proxy key this request presented, in plaintext: masked wherever an upstream echoes it back. */
  proxyKey: string;
  /** What the log record shows of it (null when the request was refused before it was accepted). */
  proxyKeyMasked: string | null;
  clientIp: string;
  keepForwarded: boolean;
  started: number;
  startedAt: number;
}

/** Collaborators of the forwarding loop. */
export interface ForwardDeps {
  keyPool: KeyPool;
  clients: UpstreamClients;
  guard: StormGuard;
  upstreamHealth: UpstreamHealth;
  onRecord: (record: RequestLogRecord) => void;
  onBrokenStream?: (info: { requestId: string; group: string; error: string }) => void;
  /** A group's configuration could not be sent (the caller throttles how often it logs this). */
  onConfigProblem?: (group: string, problem: ConfigProblem) => void;
  /** Masks every secret the process knows (AUTH_KEY, upstream keys …) in text that leaves it. */
  secrets?: SecretMasker;
}

/** The process's secret registry (observability's `SecretRegistry`), as far as the gateway uses it. */
export interface SecretMasker {
  /** Masks `extras`, every registered secret and key-shaped material in text leaving the process. */
  maskText(text: string, extras?: Iterable<string | null | undefined>): string;
}

const ERROR_BODY_LIMIT = 64 * 1024;

type AttemptResult =
  | {
      kind: 'response';
      response: Dispatcher.ResponseData;
      classification: Classification;
      errorBody: string | null;
    }
  | {
      kind: 'transport';
      classification: Classification;
      error: string;
      timeout: boolean;
      transport: NonNullable<Outcome['transport']>;
    }
  | {
      /** Failed before a byte left the gateway: never the key's fault, nor the upstream's. */
      kind: 'presend';
      problem: ConfigProblem;
    };

type SentResult = Exclude<AttemptResult, { kind: 'presend' }>;

/**
 * The attempt loop: pick a key and an upstream, send, classify, report to the pool, and retry on another key
 * while nothing has been sent to the client and the failure is retryable. A bounded loop, not recursion.
 */
export async function forward(ctx: ForwardContext, deps: ForwardDeps): Promise<void> {
  const { group: root, res } = ctx;
  const attempts: Attempt[] = [];
  const tried = new Set<number>();
  const exhausted = new Set<number>();
  let sub = chooseSubGroup(root, exhausted, deps.keyPool);
  const model = root.provider.extractModel({
    method: ctx.req.method ?? 'GET',
    path: ctx.path,
    query: ctx.query,
    headers: ctx.req.headers,
    body: ctx.body,
  });
  const stream = root.provider.isStream({
    method: ctx.req.method ?? 'GET',
    path: ctx.path,
    query: ctx.query,
    headers: ctx.req.headers,
    body: ctx.body,
  });
  const record = baseRecord(ctx, model, stream);
  let cooldownMs: number | undefined;
  let last: SentResult | null = null;
  let lastKey: { id: number; value: string } | null = null;
  let rewritten: { sub: number; body: Buffer | null; path: string } | null = null;

  const maxAttempts = (sub ?? root).settings.maxRetries + 1;
  let stormRetryMs: number | undefined;
  let unsendable: { group: GroupRuntime; problem: ConfigProblem } | null = null;
  for (let attempt = 0; attempt < maxAttempts && sub;) {
    if (sub.configProblem) {
      deps.onConfigProblem?.(sub.name, sub.configProblem);
      unsendable ??= { group: sub, problem: sub.configProblem };
      exhausted.add(sub.id);
      sub = chooseSubGroup(root, exhausted, deps.keyPool);
      continue;
    }
    const verdict = deps.guard.check(sub.id);
    if (verdict.open) {
      stormRetryMs = Math.min(stormRetryMs ?? Infinity, verdict.retryAfterMs);
      exhausted.add(sub.id);
      sub = chooseSubGroup(root, exhausted, deps.keyPool);
      continue;
    }
    const pick = deps.keyPool.pick(sub.id, tried);
    // In an aggregate, a sub-group whose every key was already tried in this request is exhausted: fail over to
    // another sub-group rather than retrying the same keys (a standalone group retries them, as GPT-Load does).
    const spent = pick.ok && root.type === 'aggregate' && tried.has(pick.key.id);
    if (!pick.ok || spent) {
      if (!pick.ok && pick.reason === 'cooling')
        cooldownMs = Math.min(cooldownMs ?? Infinity, pick.retryAfterMs ?? 1000);
      exhausted.add(sub.id);
      sub = chooseSubGroup(root, exhausted, deps.keyPool);
      continue;
    }
    attempt++;
    const key = pick.key;
    tried.add(key.id);
    lastKey = key;
    if (!rewritten || rewritten.sub !== sub.id) {
      const r = rewriteBody(sub, ctx.path, ctx.body);
      if (!r.ok) {
        const message = `model '${r.model}' is not configured in redirect rules`;
        sendDialectError(res, sub.provider, 400, 'MODEL_NOT_ALLOWED', message);
        return finish(deps, record, ctx, {
          statusCode: 400,
          error: message,
          attempts,
          groupOf: sub,
          root,
          key: null,
        });
      }
      rewritten = { sub: sub.id, body: r.body, path: r.path };
    }
    const upstream =
      sub.upstreams.next((u) => deps.upstreamHealth.isPenalized(u.url)) ?? sub.upstreams.next();
    if (!upstream) break;
    const t0 = performance.now();
    const result = await attemptOnce(
      ctx,
      sub,
      key,
      upstream.origin,
      upstream.basePath,
      rewritten,
      stream,
      deps.clients,
    );
    if (result.kind === 'presend') {
      // Nothing reached the upstream: no health, storm-guard or pool bookkeeping, no attempt to show.
      deps.onConfigProblem?.(sub.name, result.problem);
      unsendable = { group: sub, problem: result.problem };
      // An earlier attempt's response (if any) was already discarded for this retry: nothing else to answer.
      last = null;
      break;
    }
    last = result;
    const c = last.classification;
    const transport = last.kind === 'transport' ? last.transport : null;
    const statusCode = last.kind === 'response' ? last.response.statusCode : last.timeout ? 504 : 502;
    if (c.class === 'ok') {
      deps.upstreamHealth.succeed(upstream.url);
      deps.guard.ok(sub.id);
    } else if (c.class === 'upstream' && (transport !== null || statusCode >= 500))
      deps.upstreamHealth.fail(upstream.url);
    // A storm (most keys failing the same way at once) is not the keys' fault; neither is an upstream that cannot
    // be reached at all (the key never left this machine).
    const verdictAfter = deps.guard.record(sub.id, key.id, c.class, deps.keyPool.keyCount(sub.id));
    const storm = verdictAfter.storm;
    // Keys charged while the storm was building were not at fault either.
    for (const id of verdictAfter.absolve)
      if (id !== key.id) deps.keyPool.setStatus(sub.id, id, 'active', 'recovered');
    const unreachable = transport === 'connect' || transport === 'timeout-connect';
    if (!storm && !unreachable)
      deps.keyPool.report(
        sub.id,
        key.id,
        {
          class: c.class,
          ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
          reason: c.reason,
        },
        sub.policy,
      );
    attempts.push({
      keyId: key.id,
      key: maskSecret(key.value),
      upstreamUrl: upstream.url,
      statusCode,
      class: c.class,
      durationMs: Math.round(performance.now() - t0),
      error:
        last.kind === 'transport'
          ? redact(last.error, key.value, ctx, deps)
          : last.errorBody === null
            ? null
            : redact(truncate(last.errorBody), key.value, ctx, deps),
    });
    if (c.class === 'aborted')
      return finish(deps, record, ctx, {
        statusCode: 499,
        error: 'client closed the request',
        attempts,
        groupOf: sub,
        root,
        key,
      });
    if (storm && root.type === 'aggregate' && attempt < maxAttempts) {
      // This sub-group is in a storm: try another one.
      stormRetryMs = Math.min(stormRetryMs ?? Infinity, 1000);
      exhausted.add(sub.id);
      sub = chooseSubGroup(root, exhausted, deps.keyPool);
      if (last.kind === 'response') last.response.body.destroy();
      if (sub) continue;
      break;
    }
    if (c.class === 'ok' || !c.retryable || attempt >= maxAttempts || storm) break;
    if (last.kind === 'response') last.response.body.destroy();
  }

  const servedBy = sub ?? root;
  if (unsendable && !last) {
    const { group, problem } = unsendable;
    const message = `Group '${group.name}' cannot be served: its ${problem.field} ${problem.reason}. Fix the group's configuration.`;
    sendDialectError(res, root.provider, 500, 'GATEWAY_CONFIG', message);
    return finish(deps, record, ctx, {
      statusCode: 500,
      error: message,
      attempts,
      groupOf: group,
      root,
      key: null,
    });
  }
  if (!last || !lastKey) {
    const waitMs = stormRetryMs ?? cooldownMs;
    const message =
      stormRetryMs !== undefined
        ? 'The upstream is failing for every key right now (storm guard); retry later'
        : cooldownMs !== undefined
          ? 'Every key of this group is cooling down; retry later'
          : 'No usable API key in this group';
    const extra: Record<string, string> =
      waitMs !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } : {};
    sendDialectError(res, root.provider, 503, 'NO_KEYS_AVAILABLE', message, extra);
    return finish(deps, record, ctx, {
      statusCode: 503,
      error: message,
      attempts,
      groupOf: servedBy,
      root,
      key: null,
    });
  }
  if (last.kind === 'transport') {
    const status = last.timeout ? 504 : 502;
    const message = `Upstream ${last.timeout ? 'timed out' : 'unreachable'} after ${attempts.length} attempt(s): ${redact(last.error, lastKey.value, ctx, deps)}`;
    sendDialectError(
      res,
      servedBy.provider,
      status,
      last.timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNREACHABLE',
      message,
    );
    return finish(deps, record, ctx, {
      statusCode: status,
      error: message,
      attempts,
      groupOf: servedBy,
      root,
      key: lastKey,
    });
  }
  const { response } = last;
  if (last.errorBody !== null) {
    const body = redact(last.errorBody, lastKey.value, ctx, deps);
    const headers = maskHeaders(clientHeaders(response.headers), lastKey.value, ctx, deps, true);
    delete headers['content-encoding'];
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(response.statusCode, headers);
    res.end(body);
    return finish(deps, record, ctx, {
      statusCode: response.statusCode,
      error: truncate(body),
      attempts,
      groupOf: servedBy,
      root,
      key: lastKey,
    });
  }
  const final: Final = { attempts, groupOf: servedBy, root, key: lastKey };
  if (
    servedBy.modelRedirects &&
    response.statusCode < 300 &&
    isModelListRequest(ctx.req.method ?? 'GET', ctx.path)
  ) {
    await sendModelList(ctx, deps, record, response, final);
    return;
  }
  relay(ctx, deps, record, response, stream, final);
}

/**
 * Model lists of a group with redirects show the redirected names (merged, or only them in strict mode), so
 * clients that pick models from the list see what the group serves. The list is small: read it whole.
 */
async function sendModelList(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: Dispatcher.ResponseData,
  f: Final,
): Promise<void> {
  const group = f.groupOf;
  let raw: Buffer;
  try {
    raw = Buffer.from(await response.body.arrayBuffer());
  } catch (error) {
    sendDialectError(ctx.res, group.provider, 502, 'UPSTREAM_UNREACHABLE', 'Upstream broke the model list');
    return finish(deps, record, ctx, { ...f, statusCode: 502, error: errorText(error) });
  }
  let body: string;
  try {
    const decoded = await decodeBody(raw, headerString(response.headers['content-encoding']));
    const list: unknown = JSON.parse(decoded.toString('utf8'));
    const firstPage = !new URLSearchParams(ctx.query).has('pageToken');
    body = JSON.stringify(
      rewriteModelList(list, {
        redirects: group.modelRedirects ?? {},
        strict: group.modelRedirectStrict,
        firstPage,
      }),
    );
  } catch {
    // Not a list we understand: pass the upstream's bytes on untouched.
    ctx.res.writeHead(
      response.statusCode,
      maskHeaders(clientHeaders(response.headers), f.key?.value ?? '', ctx, deps, false),
    );
    ctx.res.end(raw);
    return finish(deps, record, ctx, { ...f, statusCode: response.statusCode, error: null });
  }
  ctx.res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  ctx.res.end(body);
  finish(deps, record, ctx, { ...f, statusCode: 200, error: null });
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function chooseSubGroup(
  root: GroupRuntime,
  exhausted: ReadonlySet<number>,
  pool: KeyPool,
): GroupRuntime | undefined {
  if (root.type !== 'aggregate') return exhausted.has(root.id) ? undefined : root;
  const preferred = root.subGroups.next((s) => exhausted.has(s.group.id) || !pool.hasUsable(s.group.id));
  if (preferred) return preferred.group;
  // Nothing obviously usable: still try a not-yet-exhausted sub-group (its pool may hand out a probe key).
  return root.subGroups.next((s) => exhausted.has(s.group.id))?.group;
}

async function attemptOnce(
  ctx: ForwardContext,
  sub: GroupRuntime,
  key: { id: number; value: string },
  origin: string,
  basePath: string,
  rewritten: { body: Buffer | null; path: string },
  stream: boolean,
  clients: UpstreamClients,
): Promise<AttemptResult> {
  const s = sub.settings;
  // A key that cannot travel in a header (stored before import checks) would make undici throw before sending.
  if (!isSendableHeaderValue(key.value))
    return {
      kind: 'presend',
      problem: {
        field: `key #${key.id}`,
        reason: 'contains characters an HTTP header cannot carry; replace or delete that key',
      },
    };
  const headers = upstreamHeaders(
    ctx.req.headers,
    rewritten.body ? rewritten.body.length : null,
    ctx.keepForwarded,
  );
  const target = sub.provider.applyKey(headers, key.value, { path: rewritten.path, query: ctx.query });
  if (sub.headerRules.length > 0)
    applyHeaderRules(headers, sub.headerRules, {
      clientIp: ctx.clientIp,
      groupName: sub.name,
      apiKey: key.value,
      now: Date.now(),
    });
  // undici accepts an EventEmitter as the abort signal: far cheaper per request than AbortController (whose
  // DOMException and listener bookkeeping showed up in profiles).
  const abort = new EventEmitter();
  let timedOut = false;
  const onClose = () => {
    if (!ctx.res.writableFinished) abort.emit('abort');
  };
  let dispatcher: Dispatcher;
  try {
    dispatcher = clients.get(origin, s);
  } catch (error) {
    return presend('upstreams', error);
  }
  ctx.res.once('close', onClose);
  const overall = stream
    ? null
    : setTimeout(() => {
        timedOut = true;
        abort.emit('abort');
      }, s.requestTimeoutSeconds * 1000);
  try {
    const response = await dispatcher.request({
      method: ctx.req.method ?? 'GET',
      path: basePath + target.path + (target.query ? `?${target.query}` : ''),
      headers: headers as Record<string, string | string[]>,
      body: rewritten.body,
      signal: abort,
      headersTimeout: s.responseHeaderTimeoutSeconds * 1000,
      bodyTimeout: (stream ? s.streamIdleTimeoutSeconds : s.requestTimeoutSeconds) * 1000,
    });
    if (overall) response.body.once('close', () => clearTimeout(overall));
    ctx.res.off('close', onClose);
    const outcome: Outcome = { status: response.statusCode, headers: response.headers };
    let errorBody: string | null = null;
    if (response.statusCode >= 400) {
      errorBody = await readErrorBody(response);
      outcome.body = errorBody;
    }
    const classification = classifyOutcome(outcome, sub.provider.classifierRules, sub.failover);
    if (classification.class === 'ok' || (classification.class === 'client' && response.statusCode < 400))
      errorBody = null;
    return { kind: 'response', response, classification, errorBody };
  } catch (error) {
    if (overall) clearTimeout(overall);
    ctx.res.off('close', onClose);
    if (codeOf(error) === EGRESS_REFUSED_CODE) return presend('upstreams', error);
    if (isPresendError(error)) return presend('upstream request', error);
    const transport = transportKind(error, timedOut, ctx.res.destroyed && !ctx.res.writableFinished);
    return {
      kind: 'transport',
      classification: classifyOutcome({ status: 0, transport }, sub.provider.classifierRules),
      error:
        transport === 'timeout-headers' || timedOut
          ? `${transport === 'timeout-headers' ? 'response header' : 'request'} timeout`
          : errorText(error),
      timeout: transport.startsWith('timeout'),
      transport,
    };
  }
}

/** An error's `code`, or its cause's (undici may wrap what a connector failed with). */
function codeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * undici's argument checks run before a connection is used, and the egress policy refuses a connection before it
 * is opened: such an error means nothing was sent.
 */
function isPresendError(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED';
}

function presend(field: string, error: unknown): AttemptResult {
  // undici's messages name the header or the part of the URL, never its value.
  const why = error instanceof Error ? error.message : 'refused by the HTTP client';
  return { kind: 'presend', problem: { field, reason: `cannot be sent (${scrubKeyMaterial(why)})` } };
}

function transportKind(
  error: unknown,
  timedOut: boolean,
  clientGone: boolean,
): NonNullable<Outcome['transport']> {
  if (timedOut) return 'timeout-body';
  const code = (error as { code?: string } | null)?.code ?? '';
  if (clientGone || code === 'UND_ERR_ABORTED' || (error as Error | null)?.name === 'AbortError')
    return clientGone ? 'aborted' : 'other';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout-connect';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout-headers';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'timeout-body';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH')
    return 'connect';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  return 'other';
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return 'transport error';
  const code = (error as { code?: string }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return scrubKeyMaterial(`${code ? `${code} ` : ''}${error.message}${cause}`);
}

async function readErrorBody(response: Dispatcher.ResponseData): Promise<string> {
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'br'
        ? createBrotliDecompress()
        : encoding === 'deflate'
          ? createInflate()
          : null;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const source = decoder ? response.body.pipe(decoder) : response.body;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // A truncated or undecodable error body still classifies by status.
  } finally {
    response.body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, ERROR_BODY_LIMIT));
}

interface Final {
  attempts: Attempt[];
  groupOf: GroupRuntime;
  root: GroupRuntime;
  key: { id: number; value: string } | null;
}

/** Streams a successful upstream response to the client byte for byte; breaks the client stream if upstream breaks. */
function relay(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: Dispatcher.ResponseData,
  stream: boolean,
  f: Final,
): void {
  const { res } = ctx;
  const headers = maskHeaders(clientHeaders(response.headers), f.key?.value ?? '', ctx, deps, false);
  if (stream) headers['x-accel-buffering'] = 'no';
  res.writeHead(response.statusCode, headers);
  const ttfbMs = Math.round(performance.now() - ctx.started);
  const contentType = String(response.headers['content-type'] ?? '');
  const tap = new UsageTap(
    f.groupOf.provider,
    contentType.includes('event-stream') ? 'sse' : contentType.includes('json') ? 'json' : 'none',
    headerString(response.headers['content-encoding']),
  );
  // Relayed by hand rather than with stream.pipeline: the same backpressure for a fraction of the bookkeeping
  // per request, and one place that sees each chunk (the usage tap) without a Transform in the byte path.
  const body = response.body;
  let done = false;
  const complete = (error: Error | null, clientGone: boolean) => {
    if (done) return;
    done = true;
    const usage = tap.end();
    record.promptTokens = usage.promptTokens;
    record.completionTokens = usage.completionTokens;
    if (error || clientGone) {
      if (!clientGone && error)
        deps.onBrokenStream?.({ requestId: ctx.requestId, group: f.groupOf.name, error: errorText(error) });
      finish(deps, record, ctx, {
        ...f,
        statusCode: clientGone ? 499 : 502,
        error: clientGone
          ? 'client closed the stream'
          : `upstream broke the stream: ${redact(errorText(error), f.key?.value ?? '', ctx, deps)}`,
        ttfbMs,
        success: false,
      });
      return;
    }
    finish(deps, record, ctx, {
      ...f,
      statusCode: response.statusCode,
      error: null,
      ttfbMs,
      success: response.statusCode < 400,
    });
  };
  body.on('data', (chunk: Buffer) => {
    tap.push(chunk);
    if (!res.write(chunk)) body.pause();
  });
  res.on('drain', () => body.resume());
  body.once('end', () => {
    res.end();
    complete(null, false);
  });
  body.once('error', (error: Error) => {
    // The upstream died mid-body: break the client's connection too, never end it as if complete.
    res.destroy(error);
    complete(error, false);
  });
  res.once('close', () => {
    if (res.writableFinished) return;
    body.destroy();
    complete(null, true);
  });
}

function baseRecord(ctx: ForwardContext, model: string | null, stream: boolean): RequestLogRecord {
  return {
    id: randomUUID(),
    requestId: ctx.requestId,
    time: new Date(ctx.startedAt).toISOString(),
    groupId: ctx.group.id,
    groupName: ctx.group.name,
    parentGroupId: null,
    parentGroupName: null,
    keyId: null,
    keyMasked: null,
    proxyKeyMasked: ctx.proxyKeyMasked,
    model,
    statusCode: 0,
    success: false,
    durationMs: 0,
    ttfbMs: null,
    stream,
    retries: 0,
    attempts: [],
    error: null,
    clientIp: ctx.clientIp,
    requestPath: truncate(ctx.path + (ctx.query ? `?${ctx.query}` : ''), 500),
    promptTokens: null,
    completionTokens: null,
    requestBody: null,
  };
}

/**
 * Logs a request the gateway refused or gave up on before choosing a key (bad target, wrong proxy key, aborted
 * upload): no attempts, no key, nothing charged. The response (if any) is the caller's to send.
 */
export function recordRefusal(
  ctx: ForwardContext,
  deps: ForwardDeps,
  statusCode: number,
  error: string,
): void {
  const record = baseRecord(ctx, null, false);
  finish(deps, record, ctx, {
    statusCode,
    error,
    attempts: [],
    groupOf: ctx.group,
    root: ctx.group,
    key: null,
  });
}

function finish(
  deps: ForwardDeps,
  record: RequestLogRecord,
  ctx: ForwardContext,
  f: Final & { statusCode: number; error: string | null; ttfbMs?: number; success?: boolean },
): void {
  record.statusCode = f.statusCode;
  record.success = f.success ?? f.statusCode < 400;
  record.error = f.error;
  record.durationMs = Math.round(performance.now() - ctx.started);
  record.ttfbMs = f.ttfbMs ?? null;
  record.attempts = f.attempts;
  record.retries = Math.max(0, f.attempts.length - 1);
  record.keyId = f.key?.id ?? null;
  record.keyMasked = f.key ? maskSecret(f.key.value) : null;
  if (f.root.type === 'aggregate' && f.groupOf !== f.root) {
    record.parentGroupId = f.root.id;
    record.parentGroupName = f.root.name;
    record.groupId = f.groupOf.id;
    record.groupName = f.groupOf.name;
  }
  // A caller may paste a secret into its prompt: a stored body is masked like any text leaving the process.
  if (f.groupOf.settings.requestLogBodies && ctx.body)
    record.requestBody = redact(truncate(ctx.body.toString('utf8'), 65_000), f.key?.value ?? '', ctx, deps);
  deps.onRecord(record);
}

/**
 * Masks, in text an upstream produced (error bodies ≤ 64 KiB, transport errors — never success bodies), the key
 * this attempt used, the proxy key the caller presented (an upstream may echo a header it was sent), every secret
 * the process knows (AUTH_KEY, other upstream keys …), and anything that looks like key material.
 */
function redact(text: string, key: string, ctx: ForwardContext, deps: ForwardDeps): string {
  const extras = [key, ctx.proxyKey];
  return deps.secrets ? deps.secrets.maskText(text, extras) : scrubKeyMaterial(redactSecrets(text, extras));
}

/**
 * Response headers an upstream sent may name the credential it saw. On error answers every value goes through the
 * full mask; on successful ones (the hot path) only a value that contains this request's upstream or proxy key is
 * masked — a couple of `includes` per header rather than the registry's scan.
 */
function maskHeaders(
  headers: Record<string, string | string[]>,
  key: string,
  ctx: ForwardContext,
  deps: ForwardDeps,
  full: boolean,
): Record<string, string | string[]> {
  for (const name in headers) {
    const v = headers[name] as string | string[];
    if (typeof v === 'string') {
      if (full || echoes(v, key, ctx.proxyKey)) headers[name] = redactHeader(v, key, ctx, deps);
    } else if (full || v.some((e) => echoes(e, key, ctx.proxyKey)))
      headers[name] = v.map((e) => redactHeader(e, key, ctx, deps));
  }
  return headers;
}

/** A masked value is `sk-ab…9f3c`: the ellipsis is not Latin-1, and a header carrying it could not be sent. */
function redactHeader(value: string, key: string, ctx: ForwardContext, deps: ForwardDeps): string {
  const masked = redact(value, key, ctx, deps);
  return masked === value ? value : masked.replace(/[^\t\x20-\x7e\x80-\xff]/g, '.');
}

function echoes(value: string, key: string, proxyKey: string): boolean {
  return (key !== '' && value.includes(key)) || (proxyKey !== '' && value.includes(proxyKey));
}

function truncate(text: string, max = 2048): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
