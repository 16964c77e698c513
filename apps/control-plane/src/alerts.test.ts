import { createHmac } from 'node:crypto';
import type { AlertChannel, AlertHistoryItem, AlertTestResult } from '@keyway/contracts';
import { alertChannelSchema, alertPayloadSchema } from '@keyway/contracts';
import type { AlertReceiver } from '@keyway/alerts/testing';
import { startAlertReceiver } from '@keyway/alerts/testing';
import { insertAlertHistory } from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';

const TOKEN = 'xoxb-T0KEN-4f3e2d1c0b9a';
const SECRET = 'signing-S3CRET-77aa';
let fx: Fixture;
let rx: AlertReceiver;
/** Every response body of this file: none may show the URL's token or the secret. */
const seen: string[] = [];

beforeAll(async () => {
  fx = await createFixture({ keyCipher: createKeyCipher('alerts-test-encryption-key-0123456789abcdef') });
  rx = await startAlertReceiver();
});
afterAll(async () => {
  await rx.close();
  await fx.close();
});
beforeEach(async () => {
  await fx.db.$transaction([fx.db.alertHistory.deleteMany(), fx.db.alertChannel.deleteMany()]);
  rx.received.length = 0;
  rx.answer(() => ({ status: 200, body: 'ok' }));
});

async function req<T>(method: string, path: string, body?: unknown) {
  const r = await fx.req<T>(method, path, body);
  seen.push(r.text);
  return r;
}

const create = (over: Record<string, unknown> = {}) =>
  req<AlertChannel>('POST', '/api/alerts/channels', {
    name: 'ops',
    type: 'webhook',
    url: `${rx.origin}/hooks/${TOKEN}?sig=${TOKEN}`,
    secret: SECRET,
    events: ['key.invalid', 'group.exhausted'],
    ...over,
  });

describe('alert channels API', () => {
  it('creates, reads, patches and deletes a channel with url and secret write-only and stored sealed', async () => {
    const created = await create();
    expect(created.status).toBe(201);
    expect(alertChannelSchema.parse(created.json)).toMatchObject({
      name: 'ops',
      type: 'webhook',
      url: `${rx.origin}/…`,
      hasSecret: true,
      chatId: null,
      events: ['key.invalid', 'group.exhausted'],
      enabled: true,
    });
    const id = created.json.id;
    const stored = await fx.db.alertChannel.findUniqueOrThrow({ where: { id } });
    expect(stored.url).not.toContain(TOKEN);
    expect(stored.secret).not.toContain(SECRET);

    expect((await req<{ items: AlertChannel[] }>('GET', '/api/alerts/channels')).json.items).toHaveLength(1);
    expect((await req<AlertChannel>('GET', `/api/alerts/channels/${id}`)).json.url).toBe(`${rx.origin}/…`);

    const patched = await req<AlertChannel>('PATCH', `/api/alerts/channels/${id}`, {
      name: 'ops-2',
      events: ['upstream.down'],
      secret: null,
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ name: 'ops-2', events: ['upstream.down'], hasSecret: false });
    // The URL was kept: the test button still reaches the receiver.
    expect((await req<AlertTestResult>('POST', `/api/alerts/channels/${id}/test`)).json.delivered).toBe(true);

    expect((await req('DELETE', `/api/alerts/channels/${id}`)).status).toBe(204);
    expect((await req('GET', `/api/alerts/channels/${id}`)).status).toBe(404);
    expect((await req('DELETE', `/api/alerts/channels/${id}`)).status).toBe(404);
  });

  it('refuses a duplicate name, a telegram channel without chatId, and a URL with a line break', async () => {
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(409);
    expect(
      (await create({ name: 'tg', type: 'telegram', url: 'https://api.telegram.org/bot1:x' })).status,
    ).toBe(400);
    expect((await create({ name: 'bad', url: 'https://example.com/a\nb' })).status).toBe(400);
    const tg = await create({
      name: 'tg',
      type: 'telegram',
      url: 'https://api.telegram.org/bot1:x',
      chatId: '-100',
    });
    expect(tg.status).toBe(201);
    expect((await req('PATCH', `/api/alerts/channels/${tg.json.id}`, { chatId: null })).status).toBe(400);
  });

  it('test button: delivers a signed test alert and reports what the receiver answered', async () => {
    const { json: channel } = await create();
    const ok = await req<AlertTestResult>('POST', `/api/alerts/channels/${channel.id}/test`);
    expect(ok.json).toEqual({ delivered: true, statusCode: 200, error: null });
    const [got] = rx.received;
    expect(got?.url).toBe(`/hooks/${TOKEN}?sig=${TOKEN}`);
    expect(got?.headers['x-keyway-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET)
        .update(got?.raw ?? '')
        .digest('hex')}`,
    );
    expect(alertPayloadSchema.parse(got?.json)).toMatchObject({
      event: 'key.invalid',
      details: { test: true },
    });

    rx.answer(() => ({ status: 500, body: `failing for ${TOKEN}` }));
    const failed = await req<AlertTestResult>('POST', `/api/alerts/channels/${channel.id}/test`);
    expect(failed.json).toEqual({ delivered: false, statusCode: 500, error: 'HTTP 500' });
    expect(rx.received).toHaveLength(2);
    expect((await req('POST', '/api/alerts/channels/9999/test')).status).toBe(404);
  });

  it('pages the history newest first', async () => {
    for (let i = 0; i < 5; i++)
      await insertAlertHistory(fx.db, {
        time: new Date(Date.UTC(2026, 2, 10, 12, i)),
        channelId: 1,
        channelName: 'ops',
        event: 'group.exhausted',
        severity: 'critical',
        subject: `group:g${i}`,
        message: `no key in g${i}`,
        status: i === 3 ? 'suppressed' : 'sent',
        suppressed: 0,
        statusCode: i === 3 ? null : 200,
        error: null,
        details: { suppressed: 0 },
      });
    const page = await req<{ items: AlertHistoryItem[]; total: number; page: number; pageSize: number }>(
      'GET',
      '/api/alerts/history?page=2&pageSize=2',
    );
    expect(page.status).toBe(200);
    expect(page.json).toMatchObject({ total: 5, page: 2, pageSize: 2 });
    expect(page.json.items.map((h) => [h.subject, h.status])).toEqual([
      ['group:g2', 'sent'],
      ['group:g1', 'sent'],
    ]);
    expect(page.json.items[0]?.time).toBe('2026-03-10T12:02:00.000Z');
    expect((await req('GET', '/api/alerts/history?pageSize=0')).status).toBe(400);
  });

  it('audits every change without the URL or the secret, and no response ever showed them', async () => {
    const { json: channel } = await create({ name: 'audited' });
    await req('PATCH', `/api/alerts/channels/${channel.id}`, {
      url: `${rx.origin}/new/${TOKEN}`,
      secret: SECRET,
    });
    await req('POST', `/api/alerts/channels/${channel.id}/test`);
    await req('DELETE', `/api/alerts/channels/${channel.id}`);
    const audit = await fx.db.auditLog.findMany({ where: { target: `alert-channel:${channel.id}` } });
    expect(audit.map((a) => a.action).sort()).toEqual([
      'alert-channel.create',
      'alert-channel.delete',
      'alert-channel.test',
      'alert-channel.update',
    ]);
    const everything = [...seen, JSON.stringify(audit), JSON.stringify(fx.loggedErrors)].join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(SECRET);
  });
});
