import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { RequestLogRecord } from '@keyway/contracts';
import {
  MAX_DECODED_BYTES,
  SseParser,
  contentCodings,
  createDecoder,
  readDecodedPrefix,
} from '@keyway/providers';
import type { Usage } from '@keyway/providers';
import type { ForwardContext, ForwardDeps } from './context';
import { clientHeaders } from './headers';
import { endingOf, finishRecord, redact, truncate } from './request-record';
import { sendDialectError } from './respond';
import type { NativeAttempt } from './translate';
import type { Served } from './response-writer';
import { maskHeaders, pauseUntilDrained } from './response-writer';
import { UsageTap } from './usage-tap';
import type { SentResult, UpstreamResponse } from './upstream-call';
import { errorText, headerString } from './upstream-call';

type Answered = Extract<SentResult, { kind: 'response' }>;
type ServedBy = Served & { key: { id: number; value: string } };

/**
 * Answers a translated request with the upstream's response in the caller's dialect: an upstream error through
 * `translator.error` (its status kept), a JSON success through `translator.response`, an event stream event by event
 * through `translator.stream` as it arrives. Usage is read from the upstream's own bytes before translation, so
 * metering and key health see exactly what a native request would.
 */
export function writeTranslated(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  last: Answered,
  served: ServedBy,
  native: NativeAttempt,
): Promise<void> | void {
  const { response } = last;
  const { translator } = native;
  const key = served.key.value;
  if (last.errorBody !== null) {
    const upstream = redact(last.errorBody, key, ctx, deps);
    const body = translator.error(response.statusCode, upstream);
    const headers = callerHeaders(ctx, deps, response, key, true, 'application/json; charset=utf-8', body);
    ctx.res.writeHead(response.statusCode, headers);
    ctx.res.end(body);
    return finishRecord(deps, record, ctx, endingOf(served, response.statusCode, truncate(upstream)));
  }
  if (String(response.headers['content-type'] ?? '').includes('event-stream'))
    return relayStream(ctx, deps, record, response, served, native);
  return sendJson(ctx, deps, record, response, served, native);
}

/**
 * The upstream's headers as the caller gets them: masked, re-typed, without the coding undone here, and with the
 * length of `body` (a stream: none). Headers the gateway replaces are overwritten in place and deleted only when
 * present: a `delete` of a key in the middle turns the object into a hash table, which node's header writer then
 * walks slower than the plain object a native relay hands it (~0.5 µs per answer measured).
 */
function callerHeaders(
  ctx: ForwardContext,
  deps: ForwardDeps,
  response: UpstreamResponse,
  key: string,
  full: boolean,
  contentType: string,
  body: string | null,
): Record<string, string | string[]> {
  const headers = maskHeaders(clientHeaders(response.headers, ctx.res), key, ctx, deps, full);
  if (headers['content-encoding'] !== undefined) delete headers['content-encoding'];
  headers['content-type'] = contentType;
  if (body !== null) headers['content-length'] = String(Buffer.byteLength(body));
  else if (headers['content-length'] !== undefined) delete headers['content-length'];
  headers['x-request-id'] = ctx.requestId;
  return headers;
}

/** A JSON success, read whole (decoded, bounded), translated, and sent with its length. */
async function sendJson(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: UpstreamResponse,
  served: ServedBy,
  { translator, request }: NativeAttempt,
): Promise<void> {
  const raw = await readAnswer(ctx, response);
  if (ctx.res.destroyed)
    return finishRecord(deps, record, ctx, endingOf(served, 499, 'client closed the request'));
  const ttfbMs = Math.round(performance.now() - ctx.started);
  let body: string;
  let usage: Usage | null;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    usage = served.groupOf.provider.usageFromJson(parsed);
    body = translator.responseText(parsed, request);
  } catch (error) {
    return untranslatable(ctx, deps, record, served, error);
  }
  const headers = callerHeaders(ctx, deps, response, served.key.value, false, 'application/json', body);
  ctx.res.writeHead(response.statusCode, headers);
  // A string, not a Buffer made from it: node sends the head and a string body in one write, which measured no
  // slower than a Buffer that the head is then written beside.
  ctx.res.end(body);
  if (usage) {
    record.promptTokens = usage.promptTokens;
    record.completionTokens = usage.completionTokens;
    record.cachedTokens = usage.cachedTokens;
  }
  finishRecord(deps, record, ctx, endingOf(served, response.statusCode, null, ttfbMs));
}

/**
 * The upstream's JSON answer, whole (up to {@link MAX_DECODED_BYTES} decoded bytes); the client closing meanwhile
 * ends the read (the request's close hook stops it).
 */
function readAnswer(ctx: ForwardContext, response: UpstreamResponse): Promise<Buffer> {
  const encoding = headerString(response.headers['content-encoding']);
  return readDecodedPrefix(response.body, encoding, MAX_DECODED_BYTES, ctx);
}

/** An upstream success the translator could not read: 502 in the caller's dialect (the upstream's fault). */
function untranslatable(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  served: ServedBy,
  error: unknown,
): void {
  const why = redact(errorText(error), served.key.value, ctx, deps);
  const message = `Upstream answer could not be translated: ${why}`;
  sendDialectError(ctx.res, served.groupOf.provider, 502, 'UPSTREAM_UNTRANSLATABLE', message);
  finishRecord(deps, record, ctx, endingOf(served, 502, message));
}

/**
 * An event stream translated as it arrives: each upstream chunk is decoded, parsed into events, translated, and
 * written at once (one write per upstream chunk, as a native relay does), with backpressure. An upstream that
 * breaks, or ends without its terminal event, breaks the caller's stream too: an SDK must not take a cut answer
 * for a complete one.
 */
function relayStream(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: UpstreamResponse,
  served: ServedBy,
  { translator, request }: NativeAttempt,
): void {
  const { res } = ctx;
  const key = served.key.value;
  const body = response.body;
  const encoding = headerString(response.headers['content-encoding']);
  if (contentCodings(encoding) === null) {
    body.destroy();
    return untranslatable(ctx, deps, record, served, new Error(`unknown content coding ${encoding}`));
  }
  const headers = callerHeaders(ctx, deps, response, key, false, 'text/event-stream; charset=utf-8', null);
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(response.statusCode, headers);
  const ttfbMs = Math.round(performance.now() - ctx.started);
  const tap = new UsageTap(served.groupOf.provider, 'sse');
  const text = new StringDecoder('utf8');
  const parser = new SseParser();
  // The native request carries what the stream must know of the caller's (model, usage asked for).
  const events = translator.stream(request);
  let done = false;

  const complete = (usage: Usage, statusCode: number, error: string | null): void => {
    if (done) return;
    done = true;
    ctx.closeHook = null;
    record.promptTokens = usage.promptTokens;
    record.completionTokens = usage.completionTokens;
    record.cachedTokens = usage.cachedTokens;
    finishRecord(
      deps,
      record,
      ctx,
      endingOf(served, statusCode, error, ttfbMs, error === null && statusCode < 400),
    );
  };
  const broken = (error: Error): void => {
    if (done) return;
    decoder?.destroy();
    body.destroy();
    // Never ended as if complete: the caller's SDK sees a broken connection, as with a native stream.
    res.destroy(error);
    deps.onBrokenStream?.({ requestId: ctx.requestId, group: served.groupOf.name, error: errorText(error) });
    const why = redact(errorText(error), key, ctx, deps);
    complete(tap.abort(), 502, `upstream broke the stream: ${why}`);
  };
  const translate = (chunk: string, upstreamEvents: ReturnType<SseParser['push']>): string => {
    if (chunk) tap.pushText(chunk);
    let out = '';
    for (const event of upstreamEvents) out += events.push(event);
    return out;
  };
  const hold = pauseUntilDrained(res, body);
  const onText = (chunk: string): void => {
    if (done || !chunk) return;
    try {
      const out = translate(chunk, parser.push(chunk));
      if (out && !res.write(out)) hold();
    } catch (error) {
      broken(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const ended = (): void => {
    if (done) return;
    try {
      const rest = text.end();
      const out = translate(rest, [...parser.push(rest), ...parser.end()]) + events.end();
      if (!events.complete) {
        if (out) res.write(out);
        return broken(new Error('upstream stream ended without its terminal event'));
      }
      res.end(out);
      complete(tap.end(), response.statusCode, null);
    } catch (error) {
      broken(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const decoder: Duplex | null = createDecoder(encoding);
  if (decoder) {
    let decoded = 0;
    decoder.on('data', (out: Buffer) => {
      decoded += out.length;
      if (decoded > MAX_DECODED_BYTES)
        return broken(new RangeError(`decoded stream exceeds ${MAX_DECODED_BYTES} bytes`));
      onText(text.write(out));
    });
    decoder.on('end', ended);
    decoder.on('error', broken);
    body.on('data', (chunk: Buffer) => decoder.write(chunk));
    body.on('end', () => decoder.end());
  } else {
    body.on('data', (chunk: Buffer) => onText(text.write(chunk)));
    body.on('end', ended);
  }
  body.on('error', broken);
  // The client went away before the end: stop reading the upstream.
  ctx.closeHook = () => {
    decoder?.destroy();
    body.destroy();
    complete(tap.abort(), 499, 'client closed the stream');
  };
}
