import type { IncomingHttpHeaders } from 'node:http';
import {
  applyHeaderRules,
  classifyOutcome,
  EGRESS_REFUSED_CODE,
  isSendableHeaderValue,
  scrubKeyMaterial,
} from '@keyway/core';
import type { Classification, ConfigProblem, Outcome } from '@keyway/core';
import { readDecodedPrefix } from '@keyway/providers';
import type { ByteStream } from '@keyway/providers';
import type { Dispatcher } from 'undici';
import type { ForwardContext } from './context';
import { EMPTY_REPLY, holdReply } from './empty-reply-check';
import { upstreamHeaders } from './headers';
import { UpstreamCall } from './upstream-body';
import type { GroupRuntime } from './runtime';
import { endPresendSpan, startAttemptSpan, upstreamTraceHeaders } from './tracing';
import type { UpstreamClients } from './upstream-clients';

const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * An upstream response as the writer relays it: undici's, or a reply held for `retryOnEmpty` whose body replays the
 * same bytes. Read through stream events, or whole with `arrayBuffer()` (model lists).
 */
export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: ByteStream & { arrayBuffer(): Promise<ArrayBuffer> };
}

/** What one attempt produced. */
export type AttemptResult =
  | {
      kind: 'response';
      response: UpstreamResponse;
      classification: Classification;
      /** The upstream's error body (≤ 64 KiB, decoded) when the response is a failure to relay as such. */
      errorBody: string | null;
      /** The egress proxy the attempt left through (absent: direct). */
      proxy?: string;
    }
  | {
      kind: 'transport';
      classification: Classification;
      error: string;
      timeout: boolean;
      transport: NonNullable<Outcome['transport']>;
      /** The egress proxy the attempt left through (absent: direct). */
      proxy?: string;
    }
  | {
      /** Failed before a byte left the gateway: never the key's fault, nor the upstream's. */
      kind: 'presend';
      problem: ConfigProblem;
    };

/** An attempt that reached (or tried to reach) the upstream. */
export type SentResult = Exclude<AttemptResult, { kind: 'presend' }>;

/** The request body and path as the group rewrote them. */
export interface Rewritten {
  body: Buffer | null;
  path: string;
  /** The model sent upstream (redirect applied), for the classifier's model-scoped quotas; absent = none. */
  model?: string | null;
}

/**
 * Sends one attempt to `upstream` with `key` and classifies what came back; reads (and decodes) an error body so
 * it can be classified, relayed and logged. With `retryOnEmpty` a success is held until it shows content (an
 * empty one is classified `empty`; breaking while held is a `transport` failure); with `firstTokenTimeoutSeconds`
 * a streamed success is held the same way, and one whose first content event is late is abandoned as `slow`.
 * Never throws: a failure before sending is `presend`, after it `transport`.
 */
export async function sendAttempt(
  ctx: ForwardContext,
  rewritten: Rewritten,
  stream: boolean,
  group: GroupRuntime,
  key: { id: number; value: string },
  origin: string,
  basePath: string,
  clients: UpstreamClients,
): Promise<AttemptResult> {
  // The key's egress proxy, chosen once: the attempt leaves through it and its record names it.
  const proxy = group.proxies.length > 0 ? clients.proxyFor(group, key.id) : null;
  if (ctx.trace) startAttemptSpan(ctx.trace, ctx, group, key.id, origin, rewritten.model);
  const result = await send(ctx, rewritten, stream, group, key, origin, basePath, clients, proxy);
  if (proxy !== null && result.kind !== 'presend') result.proxy = proxy;
  // A sent attempt's span is closed by the recorder, with its class.
  if (ctx.trace && result.kind === 'presend') endPresendSpan(ctx.trace, result.problem);
  return result;
}

async function send(
  ctx: ForwardContext,
  rewritten: Rewritten,
  stream: boolean,
  group: GroupRuntime,
  key: { id: number; value: string },
  origin: string,
  basePath: string,
  clients: UpstreamClients,
  proxy: string | null,
): Promise<AttemptResult> {
  const s = group.settings;
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
  const target = group.provider.applyKey(headers, key.value, { path: rewritten.path, query: ctx.query });
  // Trace context goes upstream only with OTEL_PROPAGATE_UPSTREAM (the client's own is dropped with the headers).
  if (ctx.trace && ctx.trace.tracing.propagateUpstream)
    Object.assign(headers, upstreamTraceHeaders(ctx.trace, ctx.req.headers));
  if (group.headerRules.length > 0)
    applyHeaderRules(headers, group.headerRules, {
      clientIp: ctx.clientIp,
      groupName: group.name,
      apiKey: key.value,
      now: Date.now(),
    });
  let dispatcher: Dispatcher;
  try {
    dispatcher = clients.get(origin, s, proxy);
  } catch (error) {
    return presend('upstreams', error);
  }
  // Streams only (a non-stream call has `requestTimeoutSeconds`): off, this one read is all it costs.
  const firstToken = stream ? s.firstTokenTimeoutSeconds : null;
  const headerMs = s.responseHeaderTimeoutSeconds * 1000;
  // The first content event is due this long after sending, head included: a late head is as slow as a late token.
  const deadline = firstToken === null ? null : performance.now() + firstToken * 1000;
  let timedOut = false;
  let overall: NodeJS.Timeout | null = null;
  try {
    const call = new UpstreamCall(dispatcher, {
      method: ctx.req.method ?? 'GET',
      path: basePath + target.path + (target.query ? `?${target.query}` : ''),
      headers: headers as Record<string, string | string[]>,
      body: rewritten.body,
      headersTimeout: firstToken === null ? headerMs : Math.min(headerMs, firstToken * 1000),
      bodyTimeout: (stream ? s.streamIdleTimeoutSeconds : s.requestTimeoutSeconds) * 1000,
    });
    // The client's early close aborts the attempt (the request's one close listener calls this hook).
    ctx.closeHook = () => call.abort();
    if (!stream)
      overall = setTimeout(() => {
        timedOut = true;
        call.abort();
      }, s.requestTimeoutSeconds * 1000);
    const response = await call.response;
    if (overall) {
      const timer = overall;
      response.body.on('close', () => clearTimeout(timer));
    }
    ctx.closeHook = null;
    const outcome: Outcome = {
      status: response.statusCode,
      headers: response.headers,
      model: rewritten.model ?? null,
    };
    let errorBody: string | null = null;
    if (response.statusCode >= 400) {
      errorBody = await readErrorBody(response);
      outcome.body = errorBody;
    }
    const classification = classifyOutcome(outcome, group.provider.classifierRules, group.failover);
    if (classification.class === 'ok' || (classification.class === 'client' && response.statusCode < 400))
      errorBody = null;
    // Off (the default), a success costs these reads; on, it is held until it shows content (or is too slow).
    if (classification.class === 'ok' && (s.retryOnEmpty || firstToken !== null)) {
      const held = await holdReply(ctx, group.provider.id, rewritten.path, stream, response, deadline);
      if (held?.verdict === 'slow' && firstToken !== null) return slowAttempt(firstToken);
      if (held?.response)
        return {
          kind: 'response',
          response: held.response,
          // Without `retryOnEmpty` a stream that ended empty is what the client gets.
          classification: held.verdict === 'empty' && s.retryOnEmpty ? EMPTY_REPLY : classification,
          errorBody,
        };
    }
    return { kind: 'response', response, classification, errorBody };
  } catch (error) {
    if (overall) clearTimeout(overall);
    ctx.closeHook = null;
    if (codeOf(error) === EGRESS_REFUSED_CODE) return presend('upstreams', error);
    if (isPresendError(error)) return presend('upstream request', error);
    if (firstToken !== null && firstToken * 1000 < headerMs && codeOf(error) === 'UND_ERR_HEADERS_TIMEOUT')
      return slowAttempt(firstToken);
    const transport = transportKind(error, timedOut, ctx.res.destroyed && !ctx.res.writableFinished);
    return {
      kind: 'transport',
      classification: classifyOutcome({ status: 0, transport }, group.provider.classifierRules),
      error:
        transport === 'timeout-headers' || timedOut
          ? `${transport === 'timeout-headers' ? 'response header' : 'request'} timeout`
          : errorText(error),
      timeout: transport.startsWith('timeout'),
      transport,
    };
  }
}

/**
 * A stream without its first content event in time: abandoned before a byte reached the client, so another key
 * may serve it (`slow`); answered as a timeout when it was the last attempt.
 */
function slowAttempt(seconds: number): SentResult {
  const reason = `no first token within ${seconds}s`;
  return {
    kind: 'transport',
    classification: { class: 'slow', retryable: true, reason },
    error: `${reason} (firstTokenTimeoutSeconds)`,
    timeout: true,
    transport: 'timeout-body',
  };
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

/** A transport error as text that can leave the process (code, message, cause; key material scrubbed). */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return 'transport error';
  const code = (error as { code?: string }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return scrubKeyMaterial(`${code ? `${code} ` : ''}${error.message}${cause}`);
}

/** Reads at most 64 KiB of an error body, decoded with the app's one content decoder; never throws. */
async function readErrorBody(response: UpstreamResponse): Promise<string> {
  const encoding = headerString(response.headers['content-encoding']);
  return (await readDecodedPrefix(response.body, encoding, ERROR_BODY_LIMIT)).toString('utf8');
}

/** A header's value as one string (repeated headers joined as HTTP does). */
export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
