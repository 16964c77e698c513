import type { IncomingHttpHeaders } from 'node:http';
import type { Attempt, RequestLogRecord } from '@keyway/contracts';
import type { ConfigProblem } from '@keyway/core';
import { failSpan } from '@keyway/observability';
import type { TraceSpan, Tracing } from '@keyway/observability';
import type { ForwardContext } from './context';
import type { GroupRuntime } from './runtime';

// Span attributes of the GenAI semantic conventions (copied, as OpenTelemetry advises for incubating names;
// gen_ai.provider.name, gen_ai.system and gen_ai.operation.name are spelled out in the attribute literals).
const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
const GEN_AI_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
const GEN_AI_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';

/** `gen_ai.provider.name` (and the older `gen_ai.system`) of each channel, per the GenAI semantic conventions. */
const GEN_AI_PROVIDERS: Record<string, string> = {
  openai: 'openai',
  'openai-response': 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
};

/**
 * One proxied request's tracing: its SERVER span and the CLIENT span of the attempt in flight (attempts are
 * sequential). Exists only when tracing is on, or when the client's trace context is to be passed upstream.
 */
export interface RequestTrace {
  tracing: Tracing;
  /** Null: tracing is off and only the client's `traceparent` travels upstream (OTEL_PROPAGATE_UPSTREAM). */
  span: TraceSpan | null;
  attempt: TraceSpan | null;
  attempts: number;
  ended: boolean;
}

/**
 * Starts a request's trace (parent: the client's `traceparent`). Called only when tracing is on or propagation is
 * asked for, so a gateway without either allocates nothing here. A request that ends without a log record (a
 * refused upload) ends its span when its response closes ({@link closeRequestTrace}).
 */
export function startRequestTrace(tracing: Tracing, ctx: ForwardContext): RequestTrace {
  if (!tracing.enabled) return { tracing, span: null, attempt: null, attempts: 0, ended: true };
  const headers = ctx.req.headers;
  // Named and given attributes only when sampled: an unsampled request builds no attribute object or name.
  const span = tracing.startSpan('', 'server', undefined, {
    traceparent: headers.traceparent,
    tracestate: headers.tracestate,
  });
  if (span.isRecording()) describeRequest(span, ctx);
  return { tracing, span, attempt: null, attempts: 0, ended: false };
}

function describeRequest(span: TraceSpan, ctx: ForwardContext): void {
  const { req, group } = ctx;
  const method = req.method ?? 'GET';
  const route = req.url?.startsWith('/proxy/') ? '/proxy/{group}/*' : ctx.path;
  const provider = GEN_AI_PROVIDERS[group.provider.id];
  span.updateName(`${method} ${route}`);
  // Literal keys (the GEN_AI_* names spelled out): V8 builds such a literal from a template in one step; computed
  // keys made it add the properties one by one.
  span.setAttributes({
    'http.request.method': method,
    'http.route': route,
    'gen_ai.provider.name': provider,
    'gen_ai.system': provider,
    'gen_ai.operation.name': operationOf(ctx.path),
    'keyway.group.name': group.name,
    'keyway.request.id': ctx.requestId,
  });
}

/**
 * Ends a request's span when its response closed without a log record ending it first (a refused upload): called
 * from the request's one close listener, so tracing adds no listener of its own.
 */
export function closeRequestTrace(trace: RequestTrace, statusCode: number): void {
  if (trace.ended || trace.span === null) return;
  trace.span.setAttribute('http.response.status_code', statusCode);
  endRequest(trace);
}

/** Opens the CLIENT span of an attempt about to be sent with `key` to `origin`. */
export function startAttemptSpan(
  trace: RequestTrace,
  ctx: ForwardContext,
  group: GroupRuntime,
  keyId: number,
  origin: string,
  model: string | null | undefined,
): void {
  const parent = trace.span;
  if (parent === null) return;
  trace.attempts++;
  // An attempt is sampled exactly when its request is (same trace id, the request's flag): an unsampled one's span
  // is only ever read for the headers it propagates, so without propagation there is none (nor under a request
  // span that already ended).
  if (!parent.isRecording() && !trace.tracing.propagateUpstream) return;
  const span = trace.tracing.startSpan('', 'client', undefined, { span: parent });
  trace.attempt = span;
  if (!span.isRecording()) return;
  const operation = operationOf(ctx.path);
  const provider = GEN_AI_PROVIDERS[group.provider.id];
  const requested = model ?? ctx.model ?? undefined;
  span.updateName(
    requested && operation ? `${operation} ${requested}` : (operation ?? ctx.req.method ?? 'GET'),
  );
  span.setAttributes({
    'gen_ai.provider.name': provider,
    'gen_ai.system': provider,
    'gen_ai.operation.name': operation,
    'gen_ai.request.model': requested,
    'server.address': hostOf(origin),
    'keyway.group.name': group.name,
    'keyway.key.id': keyId,
    'keyway.attempt.number': trace.attempts,
  });
}

/** The trace headers the upstream gets: the attempt's context, or the client's own when tracing is off. */
export function upstreamTraceHeaders(
  trace: RequestTrace,
  client: IncomingHttpHeaders,
): Record<string, string> {
  if (trace.attempt !== null) return trace.tracing.headersOf(trace.attempt);
  const out: Record<string, string> = {};
  if (typeof client.traceparent === 'string') out.traceparent = client.traceparent;
  if (typeof client.tracestate === 'string') out.tracestate = client.tracestate;
  return out;
}

/** Closes the attempt's span with what its log entry says: status, failure class. */
export function endAttemptSpan(trace: RequestTrace, attempt: Attempt): void {
  const span = trace.attempt;
  if (span === null) return;
  trace.attempt = null;
  if (span.isRecording()) {
    // One call per attribute: no object built per attempt (a sampled span keeps them as pairs).
    span.setAttribute('http.response.status_code', attempt.statusCode);
    span.setAttribute('keyway.attempt.class', attempt.class);
    if (attempt.class !== 'ok') failSpan(span, attempt.class);
  }
  span.end();
}

/** Closes the attempt's span when nothing could be sent (a configuration problem; no health recorded). */
export function endPresendSpan(trace: RequestTrace, problem: ConfigProblem): void {
  const span = trace.attempt;
  if (span === null) return;
  trace.attempt = null;
  span.setAttribute('keyway.config.field', problem.field);
  failSpan(span, 'presend');
  span.end();
}

/** Closes the request's span with its log record: serving group and key, model, tokens, status. */
export function endRequestTrace(trace: RequestTrace, record: RequestLogRecord): void {
  const span = trace.span;
  if (span === null || trace.ended) return;
  if (span.isRecording()) {
    // One call per attribute (empty values are skipped by the span): no object built per request.
    span.setAttribute('http.response.status_code', record.statusCode);
    span.setAttribute(GEN_AI_REQUEST_MODEL, record.model ?? undefined);
    span.setAttribute(GEN_AI_INPUT_TOKENS, record.promptTokens ?? undefined);
    span.setAttribute(GEN_AI_OUTPUT_TOKENS, record.completionTokens ?? undefined);
    span.setAttribute('keyway.group.name', record.groupName);
    span.setAttribute('keyway.parent_group.name', record.parentGroupName ?? undefined);
    span.setAttribute('keyway.key.id', record.keyId ?? undefined);
    span.setAttribute('keyway.access_key.id', record.accessKeyId ?? undefined);
    span.setAttribute('keyway.retries', record.retries);
    if (record.statusCode >= 500) failSpan(span, String(record.statusCode));
  }
  endRequest(trace);
}

function endRequest(trace: RequestTrace): void {
  trace.ended = true;
  // An attempt cut short (the client left mid-attempt) is closed with its request.
  if (trace.attempt !== null) {
    failSpan(trace.attempt, 'aborted');
    trace.attempt.end();
    trace.attempt = null;
  }
  trace.span?.end();
}

/** `gen_ai.operation.name` from the upstream path (undefined: not a generation call, e.g. a model list). */
export function operationOf(path: string): string | undefined {
  if (path.endsWith('/chat/completions') || path.endsWith('/messages') || path.endsWith('/responses'))
    return 'chat';
  if (path.endsWith(':generateContent') || path.endsWith(':streamGenerateContent')) return 'generate_content';
  if (path.endsWith('/embeddings') || path.endsWith(':embedContent') || path.endsWith(':batchEmbedContents'))
    return 'embeddings';
  if (path.endsWith('/completions')) return 'text_completion';
  return undefined;
}

// Hosts by upstream origin: a URL parse per attempt was ~1% of a traced request. Origins come from group
// configuration, so the map stays small; it is cleared if a flood of configured origins ever outgrows it.
const hosts = new Map<string, string | undefined>();

/** The host of an upstream origin (never its path or query, which could carry a key). */
function hostOf(origin: string): string | undefined {
  const known = hosts.get(origin);
  if (known !== undefined || hosts.has(origin)) return known;
  let host: string | undefined;
  try {
    host = new URL(origin).hostname;
  } catch {
    host = undefined;
  }
  if (hosts.size >= 1024) hosts.clear();
  hosts.set(origin, host);
  return host;
}
