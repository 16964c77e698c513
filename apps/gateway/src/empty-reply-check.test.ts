import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { asReadable } from '@keyway/providers';
import type { ForwardContext } from './context';
import { holdReply } from './empty-reply-check';
import type { UpstreamResponse } from './upstream-call';

const CHAT = '/v1/chat/completions';
const role = 'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n';
const text = 'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n';
const done = 'data: [DONE]\n\n';

/** The parts of a request context the hold reads: the method, and the close hook it sets while holding. */
function context(): ForwardContext {
  return { req: { method: 'POST' }, closeHook: null } as unknown as ForwardContext;
}

function upstream(contentType: string, headers: Record<string, string> = {}) {
  const body = new PassThrough();
  const response: UpstreamResponse = {
    statusCode: 200,
    headers: { 'content-type': contentType, ...headers },
    body: Object.assign(body, { arrayBuffer: () => Promise.reject(new Error('not read whole')) }),
  };
  return { body, response };
}

describe('holdReply', () => {
  it('decides at the first content event and replays every byte, then the rest of the stream', async () => {
    const { body, response } = upstream('text/event-stream');
    const ctx = context();
    const held = holdReply(ctx, 'openai', CHAT, true, response);
    body.write(role);
    body.write(text.slice(0, 10));
    body.write(text.slice(10));
    const verdict = await held;
    expect(verdict?.verdict).toBe('content');
    // Nothing is held any more: the client's close goes back to the relay.
    expect(ctx.closeHook).toBeNull();
    body.end(done);
    expect((await buffer(asReadable(verdict!.response!.body))).toString()).toBe(role + text + done);
  });

  it('finds a stream empty at [DONE] and keeps its bytes for a last-attempt relay', async () => {
    const { body, response } = upstream('text/event-stream; charset=utf-8');
    const held = holdReply(context(), 'openai', CHAT, true, response);
    body.end(role + done);
    const verdict = await held;
    expect(verdict?.verdict).toBe('empty');
    expect((await buffer(asReadable(verdict!.response!.body))).toString()).toBe(role + done);
  });

  it('rejects, destroying the body, when the upstream breaks before a verdict', async () => {
    const { body, response } = upstream('text/event-stream');
    const held = holdReply(context(), 'openai', CHAT, true, response);
    body.write(role);
    body.destroy(new Error('socket hang up'));
    await expect(held).rejects.toThrow('socket hang up');
  });

  it('rejects when the client leaves while the reply is held', async () => {
    const { body, response } = upstream('application/json');
    const ctx = context();
    const held = holdReply(ctx, 'openai', CHAT, false, response);
    body.write('{"choices":');
    ctx.closeHook?.();
    await expect(held).rejects.toThrow();
    expect(body.destroyed).toBe(true);
  });

  it('passes on bytes it cannot judge: a body that does not decode is content, relayed as sent', async () => {
    const { body, response } = upstream('application/json', { 'content-encoding': 'gzip' });
    const held = holdReply(context(), 'openai', CHAT, false, response);
    body.end('not gzip at all');
    const verdict = await held;
    expect(verdict?.verdict).toBe('content');
    expect((await buffer(asReadable(verdict!.response!.body))).toString()).toBe('not gzip at all');
  });

  it('gives up at the deadline without a content event: slow, the body destroyed, nothing to relay', async () => {
    const { body, response } = upstream('text/event-stream');
    const ctx = context();
    const held = holdReply(ctx, 'openai', CHAT, true, response, performance.now() + 50);
    body.write(role);
    const verdict = await held;
    expect(verdict).toEqual({ verdict: 'slow', response: null });
    expect(body.destroyed).toBe(true);
    expect(ctx.closeHook).toBeNull();
  });

  it('a deadline already past decides slow even with nothing read', async () => {
    const { body, response } = upstream('text/event-stream');
    const verdict = await holdReply(context(), 'openai', CHAT, true, response, performance.now() - 1);
    expect(verdict?.verdict).toBe('slow');
    expect(body.destroyed).toBe(true);
  });

  it('content before the deadline wins, and the deadline passing later changes nothing', async () => {
    const { body, response } = upstream('text/event-stream');
    const held = holdReply(context(), 'openai', CHAT, true, response, performance.now() + 80);
    body.write(role + text);
    const verdict = await held;
    expect(verdict?.verdict).toBe('content');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(body.destroyed).toBe(false);
    body.end(done);
    expect((await buffer(asReadable(verdict!.response!.body))).toString()).toBe(role + text + done);
  });

  it('leaves alone what it does not check', async () => {
    expect(
      await holdReply(context(), 'openai', '/v1/embeddings', false, upstream('application/json').response),
    ).toBeNull();
    expect(await holdReply(context(), 'openai', CHAT, false, upstream('text/plain').response)).toBeNull();
    const unknownCoding = upstream('application/json', { 'content-encoding': 'snappy' }).response;
    expect(await holdReply(context(), 'openai', CHAT, false, unknownCoding)).toBeNull();
    const redirect = { ...upstream('application/json').response, statusCode: 304 };
    expect(await holdReply(context(), 'openai', CHAT, false, redirect)).toBeNull();
  });
});
