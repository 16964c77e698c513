import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertPayload } from '@keyway/contracts';
import { alertPayloadSchema } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliverAlert, maskAlertUrl } from './deliver';
import type { AlertReceiver } from './testing/receiver';
import { startAlertReceiver } from './testing/receiver';
import type { AlertTarget } from './types';

const TOKEN = 'T0KEN-in-the-path-5f1e2d';
const SECRET = 'hmac-secret-8b1f';
const payload: AlertPayload = {
  event: 'key.invalid',
  time: '2026-03-10T12:00:00.000Z',
  severity: 'warning',
  group: 'g1',
  key: 'sk-ab…9f3c',
  message: 'key invalidated: 401 Incorrect API key',
  details: { keyId: 7, suppressed: 0 },
};

let rx: AlertReceiver;
beforeAll(async () => {
  rx = await startAlertReceiver();
});
afterAll(() => rx.close());
beforeEach(() => {
  rx.received.length = 0;
  rx.answer(() => ({ status: 200, body: 'ok' }));
});

const webhook = (over: Partial<AlertTarget> = {}): AlertTarget => ({
  id: 1,
  name: 'hook',
  type: 'webhook',
  url: `${rx.origin}/hooks/${TOKEN}?token=${TOKEN}`,
  secret: SECRET,
  chatId: null,
  ...over,
});

/** What a receiver does: recompute the HMAC over the raw body and compare in constant time. */
function verifies(raw: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
  const got = Buffer.from(String(header ?? ''));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe('deliverAlert', () => {
  it('posts the signed API.md payload to a generic webhook', async () => {
    const r = await deliverAlert(webhook(), payload, { backoffMs: 1 });
    expect(r).toEqual({ delivered: true, statusCode: 200, error: null, attempts: 1 });
    const [req] = rx.received;
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(verifies(req?.raw ?? '', req?.headers['x-keyway-signature'])).toBe(true);
    expect(alertPayloadSchema.parse(req?.json)).toEqual(payload);
  });

  it('retries 5xx with backoff, then reports the failure without the URL or secret', async () => {
    rx.answer(() => ({ status: 503, body: `down: ${TOKEN} ${SECRET}` }));
    const started = Date.now();
    const r = await deliverAlert(webhook(), payload, { attempts: 3, backoffMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(r).toMatchObject({ delivered: false, statusCode: 503, attempts: 3, error: 'HTTP 503' });
    expect(rx.received).toHaveLength(3);
  });

  it('does not retry a refusal (4xx) and does not follow a redirect to another host', async () => {
    rx.answer(() => ({ status: 302, headers: { location: 'http://169.254.169.254/steal' } }));
    const r = await deliverAlert(webhook(), payload, { attempts: 3, backoffMs: 1 });
    expect(r).toMatchObject({ delivered: false, statusCode: 302, attempts: 1 });
    expect(r.error).toContain('redirects are not followed');
    rx.answer(() => ({ status: 404 }));
    expect(await deliverAlert(webhook(), payload, { attempts: 3, backoffMs: 1 })).toMatchObject({
      attempts: 1,
    });
  });

  it('reads a platform error code from a 200 answer and masks tokens it echoes', async () => {
    rx.answer(() => ({
      status: 200,
      body: JSON.stringify({ errcode: 300001, errmsg: `token ${TOKEN} is invalid` }),
    }));
    const r = await deliverAlert(webhook({ type: 'wecom', secret: null }), payload, { backoffMs: 1 });
    expect(r.delivered).toBe(false);
    expect(r.error).toMatch(/^errcode 300001: token /);
    expect(r.error).not.toContain(TOKEN);
  });

  it('times out a receiver that never answers, naming no URL', async () => {
    const slow = await import('node:http').then(
      (http) =>
        new Promise<{ url: string; close: () => void }>((resolve) => {
          const s = http.createServer(() => undefined);
          s.listen(0, '127.0.0.1', () => {
            const port = (s.address() as { port: number }).port;
            resolve({ url: `http://127.0.0.1:${port}/hang/${TOKEN}`, close: () => s.closeAllConnections() });
          });
        }),
    );
    const r = await deliverAlert(webhook({ url: slow.url }), payload, { attempts: 1, timeoutMs: 200 });
    slow.close();
    expect(r).toMatchObject({ delivered: false, statusCode: null, error: 'timed out after 0.2 s' });
    const refused = await deliverAlert(webhook({ url: `http://127.0.0.1:1/${TOKEN}` }), payload, {
      attempts: 2,
      backoffMs: 1,
    });
    expect(refused).toMatchObject({ delivered: false, attempts: 2, error: 'request failed (ECONNREFUSED)' });
  });

  it('shows only scheme and host of a channel URL', () => {
    expect(maskAlertUrl(`https://hooks.slack.com/services/${TOKEN}`)).toBe('https://hooks.slack.com/…');
  });
});
