// Two gateway replicas' session affinity on one real Redis: a session served on one is preferred on the other.
import { randomPrefix, requireService } from '@keyway/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import { affinityChannel, redisAffinityShare } from './affinity-share-redis';
import { compileRuntime } from './runtime';
import type { GroupRuntime } from './runtime';
import type { LocalSessionAffinity } from './session-affinity';
import { createSessionAffinity } from './session-affinity';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const available = await requireService('redis', redisUrl);

function sessionGroup(): GroupRuntime {
  const { snapshot } = buildSnapshot({
    groups: [
      {
        name: 'g',
        upstreams: ['http://127.0.0.1:9'],
        affinity: { mode: 'session', header: 'x-session-id', ttlSeconds: 600 },
      },
    ],
  });
  return compileRuntime(snapshot).groups.get('g')!;
}

/** Polls `read` every 5 ms until it answers something other than undefined, for at most `ms`. */
async function within<T>(ms: number, read: () => T | undefined): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = read();
    if (v !== undefined || Date.now() >= end) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(!available)('session affinity shared over Redis', { timeout: 20_000 }, () => {
  const prefix = `${randomPrefix('affinity')}:`;
  const connections: Redis[] = [];
  const replicas: LocalSessionAffinity[] = [];

  function replica(): LocalSessionAffinity {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    connections.push(redis);
    const a = createSessionAffinity({ share: redisAffinityShare({ redis, prefix }) });
    replicas.push(a);
    return a;
  }

  /** Resolves once `count` subscribers listen on the channel (a replica learns only what comes after). */
  async function subscribed(count: number): Promise<void> {
    const probe = connections[0] as Redis;
    for (let i = 0; i < 500; i++) {
      const [, n] = (await probe.pubsub('NUMSUB', affinityChannel(prefix))) as [string, number];
      if (Number(n) >= count) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('subscribers did not come up');
  }

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    for (const c of connections) c.disconnect();
  });

  it('prefers, within 100 ms, the key another replica served the session with, and follows it when it moves', async () => {
    const g = sessionGroup();
    const one = replica();
    const two = replica();
    await subscribed(2);

    one.served(g, 'S', 7);
    expect(await within(100, () => two.preferred(g, 'S'))).toBe(7);

    two.served(g, 'S', 9);
    expect(await within(100, () => (one.preferred(g, 'S') === 9 ? 9 : undefined))).toBe(9);
    // A replica's own publish never comes back to undo a newer local choice.
    expect(two.preferred(g, 'S')).toBe(9);
  });

  it('a replica started later learns sessions as they are served', async () => {
    const g = sessionGroup();
    const early = replicas[0] as LocalSessionAffinity;
    early.served(g, 'before', 3);
    const late = replica();
    await subscribed(3);
    expect(late.preferred(g, 'before')).toBeUndefined();
    early.served(g, 'after', 4);
    expect(await within(100, () => late.preferred(g, 'after'))).toBe(4);
  });

  it('subscribes again by itself after its connection was dropped', async () => {
    const g = sessionGroup();
    const name = `${prefix}replica`;
    const redis = new Redis(redisUrl, { connectionName: name, maxRetriesPerRequest: 2 });
    connections.push(redis);
    const dropped = createSessionAffinity({ share: redisAffinityShare({ redis, prefix }) });
    replicas.push(dropped);
    await subscribed(4);
    const list = (await redis.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(`name=${name}:affinity `));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await redis.client('KILL', 'ID', id as string);
    await subscribed(4);
    (replicas[0] as LocalSessionAffinity).served(g, 'after-drop', 11);
    expect(await within(100, () => dropped.preferred(g, 'after-drop'))).toBe(11);
  });

  it('keeps working on its own when Redis is unreachable, and never throws into the request', async () => {
    const g = sessionGroup();
    const redis = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    redis.on('error', () => undefined);
    connections.push(redis);
    const alone = createSessionAffinity({ share: redisAffinityShare({ redis, prefix }) });
    replicas.push(alone);
    expect(() => alone.served(g, 'S', 5)).not.toThrow();
    expect(alone.preferred(g, 'S')).toBe(5);
    await new Promise((r) => setTimeout(r, 100));
    expect(alone.preferred(g, 'S')).toBe(5);
  });
});
