import { createHmac } from 'node:crypto';
import type { AlertHistoryItem } from '@keyway/contracts';
import { alertPayloadSchema } from '@keyway/contracts';
import type { AlertReceiver } from '@keyway/alerts/testing';
import { startAlertReceiver } from '@keyway/alerts/testing';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, tempDir } from './harness';

const AUTH_KEY = 'alerts-e2e-admin-Key-7d5b3a1c9e8f';
const PROXY_KEY = 'alerts-e2e-proxy-Key-2b4d6f8a0c1e';
const REVOKED = ['sk-alerts-revoked-aaaaaaaaaaaa0001', 'sk-alerts-revoked-bbbbbbbbbbbb0002'];
const HOOK_TOKEN = 'hooktoken-e2e-9f8e7d6c5b4a3f2e';
const HOOK_SECRET = 'whsec-e2e-1a2b3c4d5e6f';

/**
 * Alerts end to end on a standalone Keyway: a webhook channel, a fake upstream answering 401 for every key of a
 * group. The gateway invalidates the keys (key.invalid per key), then has no usable key (group.exhausted); the
 * worker's handler, in process, delivers both to a local receiver, signed.
 */
describe('standalone × alerts', () => {
  let fake: FakeUpstream;
  let rx: AlertReceiver;
  let app: { proc: ManagedProcess; url: string; port: number };
  let tmp: ReturnType<typeof tempDir>;
  const responses: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${app.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${AUTH_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push(text);
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };

  const chat = () =>
    fetch(`${app.url}/proxy/alerted/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

  beforeAll(async () => {
    fake = await startFakeUpstream();
    for (const k of REVOKED)
      fake.setKeyBehaviour(k, { status: 401, message: `Incorrect API key provided: ${k}` });
    rx = await startAlertReceiver();
    tmp = tempDir('alerts');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    const channel = await api('POST', '/alerts/channels', {
      name: 'e2e-hook',
      type: 'webhook',
      url: `${rx.origin}/hooks/${HOOK_TOKEN}`,
      secret: HOOK_SECRET,
      events: ['key.invalid', 'group.exhausted'],
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const group = await api('POST', '/groups', {
      name: 'alerted',
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      config: { maxRetries: 3 },
    });
    expect(group.status).toBe(201);
    expect((await api('POST', `/groups/${group.body['id'] as number}/keys`, { keys: REVOKED })).status).toBe(
      200,
    );
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await rx?.close();
    await fake?.close();
    tmp?.cleanup();
  });

  it('delivers key.invalid for each key the upstream refused, then group.exhausted, signed', async () => {
    const first = await chat();
    expect(first.status).toBe(401);
    await first.text();
    // The pool hands out one blacklisted key now and then as a probe (it heals a wrongly blacklisted pool): the
    // request after it finds no usable key.
    const statuses: number[] = [];
    for (let i = 0; i < 4 && statuses.at(-1) !== 503; i++) {
      const r = await chat();
      await r.text();
      statuses.push(r.status);
    }
    expect(statuses.at(-1)).toBe(503);

    const got = (await rx.waitFor(3, 15_000)).map((r) => {
      expect(r.headers['x-keyway-signature']).toBe(
        `sha256=${createHmac('sha256', HOOK_SECRET).update(r.raw).digest('hex')}`,
      );
      expect(r.url).toBe(`/hooks/${HOOK_TOKEN}`);
      return alertPayloadSchema.parse(r.json);
    });
    const invalid = got.filter((p) => p.event === 'key.invalid');
    expect(invalid.map((p) => p.key).sort()).toEqual(['sk-al…0001', 'sk-al…0002']);
    for (const p of invalid) expect(p).toMatchObject({ group: 'alerted', severity: 'warning' });
    expect(got.find((p) => p.event === 'group.exhausted')).toMatchObject({
      group: 'alerted',
      severity: 'critical',
      details: { reason: 'empty', suppressed: 0 },
    });
    expect(JSON.stringify(got)).not.toContain(REVOKED[0]);
  });

  it('shows what was sent in the history, and the channel URL token appears in no response or log line', async () => {
    // A delivery is recorded once the receiver has answered: the last one may still be on its way here.
    const sentEvents = async (): Promise<string[]> => {
      const history = await api('GET', '/alerts/history?pageSize=50');
      return (history.body['items'] as AlertHistoryItem[])
        .filter((i) => i.status === 'sent')
        .map((i) => i.event)
        .sort();
    };
    await expect
      .poll(sentEvents, { timeout: 10_000, interval: 100 })
      .toEqual(['group.exhausted', 'key.invalid', 'key.invalid']);
    await api('GET', '/alerts/channels');
    await api('GET', '/audit?pageSize=100');
    const everything = [...responses, ...app.proc.lines].join('\n');
    expect(everything).not.toContain(HOOK_TOKEN);
    expect(everything).not.toContain(HOOK_SECRET);
  });
});
