import { createHmac } from 'node:crypto';
import type { AlertInput } from '@keyway/contracts';
import { alertPayloadSchema, NO_LIMITS } from '@keyway/contracts';
import { createAlertEmitter } from '@keyway/alerts';
import type { AlertReceiver } from '@keyway/alerts/testing';
import { startAlertReceiver } from '@keyway/alerts/testing';
import { createAccessKey, createAlertChannel, listAlertHistoryPage, writeSettings } from '@keyway/db';
import { MemoryJobQueue } from '@keyway/queue';
import type { JobName } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import type { Fixture } from './testing/fixture';
import { createFixture, SEALED } from './testing/fixture';
import { finished } from './testing/jobs';

const SECRET = 'whsec-0123456789';
const TOKEN = 'hooktoken-5a6b7c8d9e';

let f: Fixture;
let rx: AlertReceiver;
let queue: MemoryJobQueue;
let clock: number;

function start(jobs: JobName[], options: Parameters<typeof createWorker>[1] = {}) {
  createWorker(
    {
      ...f.deps,
      now: () => clock,
      queue,
      // No local rate limit: these tests count every alert.
      alerts: createAlertEmitter({ send: (p) => queue.enqueue('alert', p), minIntervalMs: 0 }),
    },
    { jobs, alertDelivery: { attempts: 3, backoffMs: 10, timeoutMs: 2000 }, ...options },
  );
}

async function webhookChannel(events: AlertInput['event'][]) {
  return createAlertChannel(f.db, {
    name: `hook-${events.join('-')}`,
    type: 'webhook',
    urlSealed: `${SEALED}${rx.origin}/hook/${TOKEN}`,
    secretSealed: `${SEALED}${SECRET}`,
    chatId: null,
    events,
    enabled: true,
  });
}

const alert = (over: Partial<AlertInput> = {}): AlertInput => ({
  event: 'group.exhausted',
  subject: 'group:g1',
  time: new Date(clock).toISOString(),
  group: 'g1',
  message: 'No usable API key in group g1',
  details: {},
  ...over,
});

const run = async (input: AlertInput) => finished(queue, (await queue.enqueue('alert', input)).id);

beforeEach(async () => {
  f = await createFixture();
  rx = await startAlertReceiver();
  queue = new MemoryJobQueue({ backoffMs: 10 });
  clock = Date.parse('2026-03-10T12:00:00Z');
});
afterEach(async () => {
  await queue.close();
  await rx.close();
  await f.close();
});

describe('alert jobs', () => {
  it('sends a signed payload, suppresses repeats within alertDedupMinutes and reports them in the next one', async () => {
    start(['alert']);
    await webhookChannel(['group.exhausted']);
    await writeSettings(f.db, { alertDedupMinutes: 10 });
    await run(alert());
    clock += 60_000;
    await run(alert());
    await run(alert({ message: 'still none' }));
    // Another subject is not held back by the first.
    await run(alert({ subject: 'group:g2', group: 'g2' }));
    expect(rx.received).toHaveLength(2);
    clock += 10 * 60_000;
    await run(alert({ message: 'none at all' }));
    expect(rx.received).toHaveLength(3);

    for (const r of rx.received) {
      const sig = `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`;
      expect(r.headers['x-keyway-signature']).toBe(sig);
      expect(r.url).toBe(`/hook/${TOKEN}`);
    }
    const first = alertPayloadSchema.parse(rx.received[0]?.json);
    expect(first).toMatchObject({ event: 'group.exhausted', severity: 'critical', group: 'g1' });
    expect(first.details.suppressed).toBe(0);
    const digest = alertPayloadSchema.parse(rx.received[2]?.json);
    expect(digest.details.suppressed).toBe(2);
    expect(digest.message).toBe('none at all (2 more suppressed since the last alert)');

    const { rows, total } = await listAlertHistoryPage(f.db, { skip: 0, take: 10 });
    expect(total).toBe(5);
    expect(rows.map((r) => [r.subject, r.status, r.suppressed])).toEqual([
      ['group:g1', 'sent', 2],
      ['group:g2', 'sent', 0],
      ['group:g1', 'suppressed', 0],
      ['group:g1', 'suppressed', 0],
      ['group:g1', 'sent', 0],
    ]);
  });

  it('retries a failing receiver, then records the alert as failed without the URL', async () => {
    start(['alert']);
    const channel = await webhookChannel(['upstream.down']);
    rx.answer(() => ({ status: 500, body: `broken ${TOKEN}` }));
    await run(alert({ event: 'upstream.down', subject: 'upstream:https://api.example.com' }));
    expect(rx.received).toHaveLength(3);
    const [row] = (await listAlertHistoryPage(f.db, { skip: 0, take: 10 })).rows;
    expect(row).toMatchObject({
      channelId: channel.id,
      status: 'failed',
      statusCode: 500,
      error: 'HTTP 500',
    });
    expect(JSON.stringify(f.logs)).not.toContain(TOKEN);
    // A failure is no reason to hold the next one back.
    rx.answer(() => ({ status: 204 }));
    clock += 1000;
    await run(alert({ event: 'upstream.down', subject: 'upstream:https://api.example.com' }));
    expect(rx.received).toHaveLength(4);
  });

  it('sends only to enabled channels subscribed to the event', async () => {
    start(['alert']);
    await webhookChannel(['key.invalid']);
    await run(alert());
    expect(rx.received).toHaveLength(0);
    expect((await listAlertHistoryPage(f.db, { skip: 0, take: 10 })).total).toBe(0);
  });
});

describe('alert producers in the worker', () => {
  it('raises key.invalid for an auth failure and key.blacklisted for the failure threshold (key-events)', async () => {
    start(['key-events', 'alert']);
    await webhookChannel(['key.invalid', 'key.blacklisted']);
    const group = await f.addGroup({ name: 'team-openai' });
    const revoked = await f.addKey(group.id, 'sk-revoked-0123456789abcdef');
    const flaky = await f.addKey(group.id, 'sk-flaky-00000000000000ffff');
    const change = { groupId: group.id, failureCount: 0, cooldownUntil: null, at: clock };
    await finished(
      queue,
      (
        await queue.enqueue('key-events', {
          changes: [
            {
              ...change,
              keyId: revoked,
              status: 'invalid',
              cause: 'auth',
              lastError: '401 Incorrect API key',
            },
            {
              ...change,
              keyId: flaky,
              status: 'invalid',
              cause: 'upstream',
              failureCount: 3,
              lastError: '502',
            },
            { ...change, keyId: flaky, status: 'cooling', cause: 'rate', lastError: '429', at: clock - 1 },
          ],
        })
      ).id,
    );
    const got = (await rx.waitFor(2)).map((r) => alertPayloadSchema.parse(r.json));
    const byEvent = Object.fromEntries(got.map((p) => [p.event, p]));
    expect(byEvent['key.invalid']).toMatchObject({
      group: 'team-openai',
      key: 'sk-re…cdef',
      severity: 'warning',
    });
    expect(byEvent['key.blacklisted']).toMatchObject({ key: 'sk-fl…ffff' });
    expect(JSON.stringify(got)).not.toContain('sk-revoked-0123456789abcdef');
  });

  it('raises keys.restored when the re-check restores keys', async () => {
    f.settings.keyRecheckIntervalMinutes = 1;
    start(['key-recheck', 'alert']);
    await webhookChannel(['keys.restored']);
    const group = await f.addGroup({ name: 'recheck-me' });
    await f.addKey(group.id, 'sk-back-again-0123456789', { status: 'invalid' });
    await finished(queue, (await queue.enqueue('key-recheck', {})).id);
    const [p] = (await rx.waitFor(1)).map((r) => alertPayloadSchema.parse(r.json));
    expect(p).toMatchObject({ event: 'keys.restored', group: 'recheck-me', details: { restored: 1 } });
  });

  it('raises budget.warning at 80% and budget.exceeded at 100%, each once', async () => {
    start(['usage-batch', 'alert']);
    await webhookChannel(['budget.warning', 'budget.exceeded']);
    const group = await f.addGroup();
    const ak = await createAccessKey(f.db, {
      name: 'team-a',
      keyHash: 'a'.repeat(64),
      keyMasked: 'sk-kw…aaaa',
      groups: '*',
      models: [],
      limits: { ...NO_LIMITS, rpd: 10 },
      expiresAt: null,
      enabled: true,
      notes: '',
    });
    const hour = new Date(Math.floor(clock / 3_600_000) * 3_600_000).toISOString();
    let n = 0;
    const batch = async (requests: number) => {
      n++;
      const id = `batch-${n}`;
      await finished(
        queue,
        (
          await queue.enqueue('usage-batch', {
            batch: {
              id,
              buckets: [
                {
                  time: hour,
                  groupId: group.id,
                  accessKeyId: ak.id,
                  model: 'gpt-4o',
                  requests,
                  failures: 0,
                  promptTokens: 0,
                  completionTokens: 0,
                  cachedTokens: 0,
                  costUsd: 0,
                },
              ],
              keys: [],
              accessKeys: [
                { id: ak.id, requests, tokens: 0, costUsd: 0, last: new Date(clock).toISOString() },
              ],
            },
          })
        ).id,
      );
    };
    await batch(7);
    await batch(1); // 8 of 10: warning
    await batch(1); // 9: nothing new
    await batch(1); // 10: exceeded
    await batch(1); // 11: nothing new
    await new Promise((r) => setTimeout(r, 200));
    const got = rx.received.map((r) => alertPayloadSchema.parse(r.json));
    expect(got.map((p) => [p.event, p.accessKey, p.details.limit])).toEqual([
      ['budget.warning', 'team-a', 'rpd'],
      ['budget.exceeded', 'team-a', 'rpd'],
    ]);
  });

  it('raises task.finished when a long key import ends', async () => {
    start(['key-import', 'alert'], { longTaskMs: 0 });
    await webhookChannel(['task.finished']);
    const group = await f.addGroup();
    await finished(
      queue,
      (await queue.enqueue('key-import', { groupId: group.id, keys: ['sk-new-0123456789abcdef'] })).id,
    );
    const [p] = (await rx.waitFor(1)).map((r) => alertPayloadSchema.parse(r.json));
    expect(p).toMatchObject({
      event: 'task.finished',
      severity: 'info',
      details: { type: 'key-import', failed: false },
    });
    expect(p?.message).toContain('1 added');
  });
});
