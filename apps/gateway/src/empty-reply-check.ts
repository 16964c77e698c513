import { PassThrough, pipeline } from 'node:stream';
import { arrayBuffer } from 'node:stream/consumers';
import { StringDecoder } from 'node:string_decoder';
import type { Classification } from '@keyway/core';
import {
  MAX_DECODED_BYTES,
  asReadable,
  contentCodings,
  createDecoder,
  emptyReplyCheck,
} from '@keyway/providers';
import type { ByteStream, ContentWatch, ReplyFraming, ReplyVerdict } from '@keyway/providers';
import type { ForwardContext } from './context';
import type { UpstreamResponse } from './upstream-call';
import { headerString } from './upstream-call';

/** A successful status whose body carries no content: another key may do better (`retryOnEmpty`). */
export const EMPTY_REPLY: Classification = { class: 'empty', retryable: true, reason: 'empty reply' };

/**
 * Raw bytes held before giving up on a verdict: a reply this long is no empty one, and holding more would only
 * cost memory (the relay then starts with everything held).
 */
const HOLD_LIMIT = 8 * 1024 * 1024;

/**
 * A reply read until its verdict, with a body that replays every byte read (then the rest) for the client; or,
 * past the first-token deadline without content, `slow` with the upstream's body destroyed (nothing to relay).
 */
export type HeldReply =
  { verdict: ReplyVerdict; response: UpstreamResponse } | { verdict: 'slow'; response: null };

/**
 * For a group with `retryOnEmpty` or `firstTokenTimeoutSeconds`: reads a 2xx reply of a generation call until it
 * shows content (a stream's first content event) or ends without any, holding every byte back meanwhile. With a
 * `deadline` (a `performance.now()` time), content that has not shown by then makes the reply `slow`: the body is
 * destroyed, which aborts the upstream call. Null when the reply is not checked (another endpoint or content type,
 * a coding that cannot be read). Rejects, with the body destroyed, when the upstream breaks (or the client leaves)
 * before the verdict: nothing was sent, like a transport failure.
 */
export async function holdReply(
  ctx: ForwardContext,
  channel: string,
  path: string,
  stream: boolean,
  response: UpstreamResponse,
  deadline: number | null = null,
): Promise<HeldReply | null> {
  if (response.statusCode < 200 || response.statusCode >= 300) return null;
  const check = emptyReplyCheck(channel, ctx.req.method ?? 'GET', path);
  if (!check) return null;
  const encoding = headerString(response.headers['content-encoding']);
  const codings = contentCodings(encoding);
  const framing = framingOf(headerString(response.headers['content-type']) ?? '', stream);
  if (codings === null || framing === null) return null;
  const held = await watchBody(
    ctx,
    response.body,
    check.watch(framing),
    codings.length > 0 ? encoding : undefined,
    deadline,
  );
  if (held.verdict === 'slow') return { verdict: 'slow', response: null };
  return {
    verdict: held.verdict,
    response: {
      statusCode: response.statusCode,
      headers: response.headers,
      body: replay(held.chunks, response.body, held.ended),
    },
  };
}

/** SSE by its type; JSON (or no type) as one value, or as Gemini's streamed array when a stream was asked for. */
function framingOf(contentType: string, stream: boolean): ReplyFraming | null {
  if (contentType.includes('event-stream')) return 'sse';
  if (contentType === '' || contentType.includes('json')) return stream ? 'json-array' : 'json';
  return null;
}

interface Held {
  verdict: ReplyVerdict | 'slow';
  /** The raw bytes read, as the upstream sent them. */
  chunks: Buffer[];
  /** Whether the body ended (nothing more to relay after the chunks). */
  ended: boolean;
}

/**
 * Reads `body` until `watch` has a verdict, feeding it decoded text and keeping the raw bytes; leaves it paused.
 * At `deadline` without one, destroys it and decides `slow`.
 */
function watchBody(
  ctx: ForwardContext,
  body: ByteStream,
  watch: ContentWatch,
  encoding: string | undefined,
  deadline: number | null,
): Promise<Held> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let decoded = 0;
    let ended = false;
    let settled = false;
    const text = new StringDecoder('utf8');
    const decoder = encoding ? createDecoder(encoding) : null;
    let timer: NodeJS.Timeout | null = null;
    const detach = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      ctx.closeHook = null;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', fail);
      body.off('close', onClose);
      decoder?.destroy();
    };
    const decide = (verdict: Held['verdict']): void => {
      if (settled) return;
      detach();
      // A slow upstream is abandoned: destroying its body aborts the call, whose error no one needs to hear.
      if (verdict === 'slow') {
        body.on('error', () => undefined);
        body.destroy();
      } else body.pause();
      resolve({ verdict, chunks, ended });
    };
    function fail(error: Error): void {
      if (settled) return;
      detach();
      body.destroy();
      reject(error);
    }
    const feed = (s: string): void => {
      const verdict = watch.push(s);
      if (verdict) decide(verdict);
    };
    const finish = (): void => {
      const rest = text.end();
      if (rest) feed(rest);
      decide(watch.end());
    };
    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      size += chunk.length;
      if (size > HOLD_LIMIT) return decide('content');
      if (decoder) decoder.write(chunk);
      else feed(text.write(chunk));
    }
    function onEnd(): void {
      ended = true;
      if (decoder) decoder.end();
      else finish();
    }
    function onClose(): void {
      if (!ended) fail(new Error('the upstream reply closed before its end'));
    }
    if (decoder) {
      decoder.on('data', (out: Buffer) => {
        decoded += out.length;
        if (decoded > MAX_DECODED_BYTES) return decide('content');
        feed(text.write(out));
      });
      decoder.on('end', finish);
      // Bytes that do not decode cannot be judged: the client gets them as the upstream sent them.
      decoder.on('error', () => decide('content'));
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', fail);
    body.on('close', onClose);
    // The client leaving while the reply is held ends the attempt as aborted.
    ctx.closeHook = () => body.destroy();
    if (deadline !== null)
      timer = setTimeout(() => decide('slow'), Math.max(0, deadline - performance.now()));
  });
}

/**
 * The held bytes again, then the rest of the upstream's body: what the relay reads instead of the upstream's
 * body, byte for byte. Errors and an early destroy travel both ways (pipeline), as they would on the body itself.
 */
class HeldBody extends PassThrough {
  /** The whole body at once (a model list reader's way), as undici's body offers it. */
  arrayBuffer(): Promise<ArrayBuffer> {
    return arrayBuffer(this);
  }
}

function replay(chunks: readonly Buffer[], body: ByteStream, ended: boolean): HeldBody {
  const out = new HeldBody();
  for (const chunk of chunks) out.write(chunk);
  if (ended) out.end();
  else pipeline(asReadable(body), out, () => undefined);
  return out;
}
