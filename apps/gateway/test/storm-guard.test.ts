import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STORM } from '../src/index';
import { chatBody, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEYS = Array.from({ length: 5 }, (_, i) => `sk-storm-${String(i).padStart(18, 'k')}`);

let fake: FakeUpstream | undefined;
let gw: TestGateway | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await gw?.close();
  await fake?.close();
  gw = undefined;
  fake = undefined;
});

describe('storm guard', { timeout: 30_000 }, () => {
  it('an outage failing every key opens the circuit: keys stay in the pool, 503 without upstream calls, recovery once healed', async () => {
    // Only Date is faked (the guard and the pool read Date.now()); sockets and timers run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    fake = await startFakeUpstream();
    // blacklistThreshold 1: without the guard, one request with 5 attempts would blacklist the whole pool.
    gw = await startGateway({
      groups: [
        { name: 'g', upstreams: [fake.url], keys: KEYS, config: { maxRetries: 4, blacklistThreshold: 1 } },
      ],
    });
    const url = `${gw.base('g')}/v1/chat/completions`;
    // An outage, not a busy provider: a 503 saying "overloaded" is class overloaded, which no storm is made of.
    fake.setDefaultBehaviour({ status: 503, message: 'Service Unavailable' });

    const first = await postJson(url, chatBody());
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(fake.requests.length).toBeLessThan(KEYS.length);
    const stats = gw.pool.stats(gw.groupId('g'));
    expect(stats.active).toBeGreaterThan(0);
    expect(stats.invalid).toBeLessThan(KEYS.length);

    // The circuit is open: answered by the gateway itself, in the channel's dialect, without upstream calls.
    const calls = fake.requests.length;
    const openedAt = Date.now();
    for (let i = 0; i < 5; i++) {
      const res = await postJson(url, chatBody());
      expect(res.status).toBe(503);
      expect(res.json<{ error: { type: string } }>().error.type).toBe('server_error');
    }
    // Still open shortly before the open time ends, even though the upstream healed meanwhile.
    fake.setDefaultBehaviour(undefined);
    vi.setSystemTime(openedAt + STORM.openMs - 1000);
    expect((await postJson(url, chatBody())).status).toBe(503);
    expect(fake.requests.length).toBe(calls);

    // Once the open time is over, a probe goes through, succeeds and closes the circuit.
    vi.setSystemTime(openedAt + STORM.openMs + 100);
    expect((await postJson(url, chatBody())).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await postJson(url, chatBody())).status).toBe(200);
    expect(fake.requests.length).toBe(calls + 5);
  });

  it('while the circuit is open, the 503 carries Retry-After (at most the open time)', async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'g', upstreams: [fake.url], keys: KEYS, config: { maxRetries: 4 } }],
    });
    const url = `${gw.base('g')}/v1/chat/completions`;
    fake.setDefaultBehaviour({ status: 503, message: 'Service Unavailable' });
    await postJson(url, chatBody());
    const calls = fake.requests.length;
    const res = await postJson(url, chatBody());
    expect(res.status).toBe(503);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(STORM.openMs / 1000));
    expect(fake.requests.length).toBe(calls);
  });

  it('an outage that trips the guard blacklists no key (failures of a storm are not the keys\u2019 fault)', async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'g', upstreams: [fake.url], keys: KEYS, config: { maxRetries: 4, blacklistThreshold: 1 } },
      ],
    });
    fake.setDefaultBehaviour({ status: 503, message: 'Service Unavailable' });
    await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody());
    expect(gw.pool.stats(gw.groupId('g')).invalid).toBe(0);
  });

  it('a half-open probe that ends in a client error does not leave the circuit stuck open', async () => {
    // Only Date is faked (the guard reads Date.now()); sockets and timers run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'g', upstreams: [fake.url], keys: KEYS, config: { maxRetries: 4 } }],
    });
    const url = `${gw.base('g')}/v1/chat/completions`;
    fake.setDefaultBehaviour({ status: 503, message: 'Service Unavailable' });
    await postJson(url, chatBody());
    expect((await postJson(url, chatBody())).status).toBe(503);
    // Open time over; the upstream is back, the first (probe) request happens to be a bad one.
    fake.setDefaultBehaviour({ status: 400, message: 'bad request', times: 1 });
    vi.setSystemTime(Date.now() + STORM.openMs + 100);
    expect((await postJson(url, chatBody())).status).toBe(400);
    vi.setSystemTime(Date.now() + 2000);
    const calls = fake.requests.length;
    expect((await postJson(url, chatBody())).status).toBe(200);
    expect(fake.requests.length).toBe(calls + 1);
  });

  it('a single failing key among healthy ones is not a storm: the key is charged, the group keeps serving', async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'g', upstreams: [fake.url], keys: KEYS, config: { blacklistThreshold: 1 } }],
    });
    fake.setKeyBehaviour(KEYS[0] as string, { status: 503, message: 'Service Unavailable' });
    for (let i = 0; i < 10; i++)
      expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(gw.health(KEYS[0] as string).status).toBe('invalid');
    expect(gw.pool.stats(gw.groupId('g')).active).toBe(KEYS.length - 1);
  });
  it("a storm's absolving takes back only its own charges: a key the operator disabled meanwhile stays disabled", async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'g', upstreams: [fake.url], keys: KEYS, config: { maxRetries: 1 } }],
    });
    const url = `${gw.base('g')}/v1/chat/completions`;
    fake.setDefaultBehaviour({ status: 429, message: 'Rate limit reached for requests' });
    // Two keys charged with a 429 each: not yet a storm (it takes three keys).
    expect((await postJson(url, chatBody())).status).toBe(429);
    const charged = fake.requests.map((r) => r.key as string);
    expect(charged).toHaveLength(2);
    for (const key of charged) expect(gw.health(key).status).toBe('cooling');
    // The operator disables the first while the storm builds.
    const gid = gw.groupId('g');
    gw.pool.setStatus(gid, gw.keyId(charged[0] as string), 'disabled');
    // Two more keys answer 429: the storm is recognised and the keys charged for it are absolved.
    await postJson(url, chatBody());
    expect(fake.requests).toHaveLength(4);
    expect(gw.health(charged[0] as string).status).toBe('disabled');
    expect(gw.health(charged[1] as string)).toMatchObject({ status: 'active', rateStrikes: 0 });
  });
});
