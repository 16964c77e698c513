import type { ConfigSnapshot } from '@keyway/contracts';
import { defaultSettings } from '@keyway/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigFollower } from './config-follower';
import type { ConfigSource } from './config-follower';

const { proxyKeys: _omit, ...settings } = defaultSettings;
const snapshot = (version: number): ConfigSnapshot => ({
  version,
  settings,
  proxyKeyHashes: [],
  groups: [],
  accessKeys: [],
  prices: [],
});

/** A source whose stored snapshot and availability the test controls, counting reads. */
function fakeSource(): ConfigSource & { stored: ConfigSnapshot | null; down: boolean; reads: number } {
  const s = {
    stored: null as ConfigSnapshot | null,
    down: false,
    reads: 0,
    version() {
      if (s.down) return Promise.reject(new Error('ECONNREFUSED'));
      return Promise.resolve(s.stored?.version ?? null);
    },
    read() {
      if (s.down) return Promise.reject(new Error('ECONNREFUSED'));
      s.reads += 1;
      return Promise.resolve(s.stored);
    },
  };
  return s;
}

const logs: string[] = [];
const logger = {
  info: (_o: object, msg?: string) => void logs.push(`info ${msg ?? ''}`),
  warn: (_o: object, msg?: string) => void logs.push(`warn ${msg ?? ''}`),
  error: (_o: object, msg?: string) => void logs.push(`error ${msg ?? ''}`),
};

const followers: ConfigFollower[] = [];
afterEach(async () => {
  for (const f of followers.splice(0)) await f.stop();
  logs.length = 0;
});

function follow(source: ConfigSource, applied: number[], pollMs = 60_000, retryMs = 10): ConfigFollower {
  const f = new ConfigFollower({ source, apply: (s) => applied.push(s.version), logger, pollMs, retryMs });
  followers.push(f);
  return f;
}

const until = async (check: () => boolean): Promise<void> => {
  const end = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('ConfigFollower', () => {
  it('stays not ready until a snapshot exists, then takes it without being told', async () => {
    const source = fakeSource();
    const applied: number[] = [];
    const f = follow(source, applied);
    await f.start();
    expect(f.ready).toBe(false);
    source.stored = snapshot(5);
    await until(() => f.ready);
    expect(applied).toEqual([5]);
    expect(logs.filter((l) => l.startsWith('warn'))).toHaveLength(1);
  });

  it('reads the snapshot only when the stored version differs from the one held', async () => {
    const source = fakeSource();
    source.stored = snapshot(5);
    const applied: number[] = [];
    const f = follow(source, applied);
    await f.start();
    await f.check();
    await f.check();
    expect(source.reads).toBe(1);
    source.stored = snapshot(9);
    await f.check();
    expect(applied).toEqual([5, 9]);
    // A snapshot rebuilt after Redis lost everything may carry a smaller version: it is taken all the same.
    source.stored = snapshot(7);
    await f.check();
    expect(applied).toEqual([5, 9, 7]);
  });

  it('keeps the last snapshot while the source is down, logs the outage once and catches up after', async () => {
    const source = fakeSource();
    source.stored = snapshot(1);
    const applied: number[] = [];
    const f = follow(source, applied, 10);
    await f.start();
    source.down = true;
    await f.check();
    await f.check();
    expect(f.ready).toBe(true);
    expect(f.version).toBe(1);
    expect(logs.filter((l) => l.includes('serving the last one'))).toHaveLength(1);
    source.stored = snapshot(2);
    source.down = false;
    // The poll timer (10 ms here, 15 s by default) finds the change without a bus message.
    await until(() => f.version === 2);
    expect(logs.some((l) => l.includes('reachable again'))).toBe(true);
  });

  it('coalesces checks asked for while one runs', async () => {
    const source = fakeSource();
    source.stored = snapshot(1);
    const applied: number[] = [];
    const f = follow(source, applied);
    await Promise.all([f.start(), f.check(), f.check(), f.check()]);
    await until(() => source.reads >= 1);
    expect(source.reads).toBe(1);
    expect(applied).toEqual([1]);
  });
});
