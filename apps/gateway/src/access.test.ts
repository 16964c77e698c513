import type { AccessKeyLimits, AccessKeySnapshot, ConfigSnapshot, GroupSnapshot } from '@keyway/contracts';
import { NO_LIMITS, defaultAffinity, defaultSettings } from '@keyway/contracts';
import { hashProxyKey } from '@keyway/keypool';
import { LocalCounters } from '@keyway/limits';
import type { Admission, CounterLayer, LimitRule, RuleUsage } from '@keyway/limits';
import { describe, expect, it } from 'vitest';
import {
  accessCounterId,
  admitAccessKey,
  authorizeAccessKey,
  createCallerResolver,
  formatDuration,
} from './access';
import type { AccessVerdict } from './access';
import { counterSeeder } from './access-usage';
import { compileRuntime } from './runtime';
import type { AccessKeyRuntime, GatewayRuntime, GroupRuntime } from './runtime';

const { proxyKeys: _omit, ...settings } = defaultSettings;

function group(id: number, name: string, extra: Partial<GroupSnapshot> = {}): GroupSnapshot {
  return {
    id,
    name,
    type: 'standard',
    channel: 'openai',
    upstreams: [{ url: 'http://127.0.0.1:9', weight: 1 }],
    testModel: '',
    validationEndpoint: '',
    proxyKeyHashes: [],
    paramOverrides: {},
    modelRedirects: {},
    modelRedirectStrict: false,
    headerRules: [],
    config: {},
    subGroups: [],
    models: [],
    keyLimits: null,
    affinity: defaultAffinity,
    dailyResetTimeZone: 'UTC',
    ...extra,
  };
}

function key(id: number, secret: string, extra: Partial<AccessKeySnapshot> = {}): AccessKeySnapshot {
  return {
    id,
    name: `key-${id}`,
    hash: hashProxyKey(secret),
    groups: '*',
    models: [],
    limits: NO_LIMITS,
    expiresAt: null,
    enabled: true,
    ...extra,
  };
}

function runtime(snapshot: Partial<ConfigSnapshot>): GatewayRuntime {
  return compileRuntime({
    version: 1,
    settings,
    proxyKeyHashes: [],
    groups: [],
    accessKeys: [],
    prices: [],
    ...snapshot,
  });
}

/** Admits everything and counts the calls (the limits themselves are the counter layer's tests). */
function countingLayer(): CounterLayer & { admitted: number } {
  const layer = {
    admitted: 0,
    admit(): Admission {
      layer.admitted++;
      return { ok: true };
    },
    record: () => undefined,
    usage: (_id: string, rule: LimitRule): RuleUsage => ({ used: 0, limit: rule.limit, resetAtMs: null }),
    read: (_id: string, rule: LimitRule): Promise<RuleUsage> =>
      Promise.resolve({ used: 0, limit: rule.limit, resetAtMs: null }),
    seed: () => undefined,
    close: () => Promise.resolve(),
  };
  return layer;
}

const clock = { now: () => 0 };

function firstKey(rt: GatewayRuntime): AccessKeyRuntime {
  const [ak] = rt.accessKeys.values();
  if (!ak) throw new Error('no access key');
  return ak;
}

describe('formatDuration', () => {
  it('writes durations as OpenAI’s x-ratelimit-reset headers do', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(-5)).toBe('0s');
    expect(formatDuration(20)).toBe('20ms');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(1050)).toBe('1.05s');
    expect(formatDuration(59_999.6)).toBe('1m0s');
    expect(formatDuration(59_999)).toBe('59.999s');
    expect(formatDuration(60_001)).toBe('1m0.001s');
    expect(formatDuration(360_000)).toBe('6m0s');
    expect(formatDuration(3_723_000)).toBe('1h2m3s');
  });
});

describe('createCallerResolver', () => {
  const oa = group(1, 'oa', { proxyKeyHashes: [hashProxyKey('group-secret')] });
  const other = group(2, 'other', { proxyKeyHashes: [hashProxyKey('other-secret')] });

  it('resolves access keys first, then global and group proxy keys', () => {
    const rt = runtime({
      groups: [oa, other],
      proxyKeyHashes: [hashProxyKey('global-secret'), hashProxyKey('moved-secret')],
      accessKeys: [key(7, 'moved-secret')],
    });
    const r = createCallerResolver();
    const g = rt.groups.get('oa') as GroupRuntime;
    expect(r.resolve(rt, 'moved-secret', g)).toMatchObject({ kind: 'access', key: { id: 7 } });
    expect(r.resolve(rt, 'global-secret', g)).toMatchObject({ kind: 'proxy', group: null });
    expect(r.resolve(rt, 'group-secret', g)).toMatchObject({ kind: 'proxy', group: { name: 'oa' } });
    // Another group's proxy key is not this group's; without a group it resolves to its own.
    expect(r.resolve(rt, 'other-secret', g)).toBeNull();
    expect(r.resolve(rt, 'other-secret')).toMatchObject({ kind: 'proxy', group: { name: 'other' } });
    expect(r.resolve(rt, null, g)).toBeNull();
    expect(r.resolve(rt, '', g)).toBeNull();
  });

  it('checks a remembered secret against the current runtime', () => {
    const r = createCallerResolver();
    const before = runtime({ groups: [oa], accessKeys: [key(1, 'ak-secret')] });
    expect(r.resolve(before, 'ak-secret')?.kind).toBe('access');
    const after = runtime({ groups: [oa] });
    expect(r.resolve(after, 'ak-secret')).toBeNull();
  });

  it('masks what it resolves and never returns the secret', () => {
    const r = createCallerResolver();
    const rt = runtime({ groups: [oa], accessKeys: [key(1, 'kw-ak-0123456789abcdef')] });
    const caller = r.resolve(rt, 'kw-ak-0123456789abcdef');
    expect(JSON.stringify({ ...caller, key: null })).not.toContain('0123456789abcdef');
    expect(caller?.masked).toBe('kw-ak…cdef');
  });
});

describe('authorizeAccessKey', () => {
  const rt = runtime({
    groups: [group(1, 'oa'), group(2, 'other')],
    accessKeys: [key(1, 'a', { groups: [2], expiresAt: '1970-01-01T00:00:01.000Z' })],
  });
  const ak = firstKey(rt);

  it('refuses an expired key from its expiry on, and a group out of scope', () => {
    expect(authorizeAccessKey(ak, rt.groups.get('other') ?? null, 999)).toBeNull();
    expect(authorizeAccessKey(ak, rt.groups.get('other') ?? null, 1000)).toMatchObject({ status: 401 });
    expect(authorizeAccessKey(ak, rt.groups.get('oa') ?? null, 0)).toMatchObject({
      status: 403,
      message: "Access key 'key-1' may not use group 'oa'",
    });
    // Key-routed requests pick among the key's groups themselves.
    expect(authorizeAccessKey(ak, null, 0)).toBeNull();
  });
});

describe('admitAccessKey', () => {
  const priced = [{ model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: null }];
  const budget = { ...NO_LIMITS, costUsdTotal: 100 };

  it('prices the model the group serves after its redirect', () => {
    const rt = runtime({
      groups: [group(1, 'oa', { modelRedirects: { smart: 'gpt-4o', cheap: 'unpriced-model' } })],
      accessKeys: [key(1, 'a', { limits: budget })],
      prices: priced,
    });
    const ak = firstKey(rt);
    const g = rt.groups.get('oa') as GroupRuntime;
    const deps = { counters: countingLayer(), clock };
    const admit = (model: string) => admitAccessKey(deps, rt, ak, g, { method: 'POST', model });
    expect(admit('smart')).toMatchObject({ ok: true });
    expect(admit('gpt-4o-2024-08-06')).toMatchObject({ ok: true });
    expect(admit('cheap')).toMatchObject({ status: 403, code: 'MODEL_NOT_PRICED' });
    expect(deps.counters.admitted).toBe(2);
  });

  it('looks prices up again when the price table changes under the same group', () => {
    const rt = runtime({
      groups: [group(1, 'oa')],
      accessKeys: [key(1, 'a', { limits: budget })],
      prices: [],
    });
    const ak = firstKey(rt);
    const g = rt.groups.get('oa') as GroupRuntime;
    const deps = { counters: countingLayer(), clock };
    const admit = (r: typeof rt) => admitAccessKey(deps, r, ak, g, { method: 'POST', model: 'gpt-4o' });
    expect(admit(rt)).toMatchObject({ status: 403, code: 'MODEL_NOT_PRICED' });
    expect(admit(rt)).toMatchObject({ status: 403, code: 'MODEL_NOT_PRICED' });
    const repriced = runtime({ groups: [], accessKeys: [], prices: priced }).prices;
    expect(admit({ ...rt, prices: repriced })).toMatchObject({ ok: true });
    expect(admit(rt)).toMatchObject({ status: 403, code: 'MODEL_NOT_PRICED' });
  });

  it('prices every model an alias lists: an alias of priced models passes, one listing an unpriced model not', () => {
    const rt = runtime({
      groups: [
        group(1, 'oa', {
          modelAliases: { smart: ['gpt-4o', 'gpt-4o-mini-2024-07-18'], risky: ['gpt-4o', 'mystery'] },
        }),
      ],
      accessKeys: [key(1, 'a', { limits: budget })],
      prices: [
        ...priced,
        { model: 'gpt-4o-mini', inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: null },
      ],
    });
    const ak = firstKey(rt);
    const g = rt.groups.get('oa') as GroupRuntime;
    const admit = (model: string) =>
      admitAccessKey({ counters: countingLayer(), clock }, rt, ak, g, { method: 'POST', model });
    expect(admit('smart')).toMatchObject({ ok: true });
    expect(admit('risky')).toMatchObject({
      status: 403,
      message: expect.stringContaining("'mystery'") as string,
    });
  });

  it('refuses an aggregate when any member would serve an unpriced model', () => {
    const rt = runtime({
      groups: [
        group(1, 'a1', { modelRedirects: { smart: 'gpt-4o' } }),
        group(2, 'a2', { modelRedirects: { smart: 'mystery' } }),
        group(3, 'agg', {
          type: 'aggregate',
          upstreams: [],
          subGroups: [
            { groupId: 1, weight: 1 },
            { groupId: 2, weight: 1 },
          ],
        }),
      ],
      accessKeys: [key(1, 'a', { limits: budget })],
      prices: priced,
    });
    const ak = firstKey(rt);
    const agg = rt.groups.get('agg') as GroupRuntime;
    const verdict = admitAccessKey({ counters: countingLayer(), clock }, rt, ak, agg, {
      method: 'POST',
      model: 'smart',
    });
    expect(verdict).toMatchObject({ status: 403, message: expect.stringContaining("'mystery'") as string });
  });

  it('lets a model-less read through a restricted key, but not a model-less write', () => {
    const rt = runtime({
      groups: [group(1, 'oa')],
      accessKeys: [key(1, 'a', { models: ['gpt-4o*'] })],
    });
    const ak = firstKey(rt);
    const g = rt.groups.get('oa') as GroupRuntime;
    const deps = { counters: countingLayer(), clock };
    expect(admitAccessKey(deps, rt, ak, g, { method: 'GET', model: null })).toMatchObject({ ok: true });
    expect(admitAccessKey(deps, rt, ak, g, { method: 'POST', model: null })).toMatchObject({
      status: 403,
      code: 'MODEL_REQUIRED',
    });
  });
});

describe('admitAccessKey x-ratelimit headers', () => {
  const limits = { ...NO_LIMITS, rpm: 3, tpm: 1000, rpd: 100, costUsdTotal: 5 };
  const priced = [{ model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: null }];

  function setup(l: AccessKeyLimits) {
    let t = Date.parse('2026-12-05T12:00:00Z');
    const clock = { now: () => t, advance: (ms: number) => (t += ms) };
    const counters = new LocalCounters({ clock });
    const rt = runtime({
      groups: [group(1, 'oa')],
      accessKeys: [key(1, 'a', { limits: l })],
      prices: priced,
    });
    const ak = firstKey(rt);
    const g = rt.groups.get('oa') as GroupRuntime;
    // Synchronous: the local layer never waits.
    const admit = () =>
      admitAccessKey({ counters, clock }, rt, ak, g, { method: 'POST', model: 'gpt-4o' }) as AccessVerdict;
    return { clock, counters, ak, admit };
  }

  it('describes the rpm and tpm windows, in that order, and a refusal adds retry-after', () => {
    const { clock, counters, ak, admit } = setup(limits);
    expect(admit()).toEqual({
      ok: true,
      headers: {
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': '2',
        'x-ratelimit-reset-requests': '1m0s',
        'x-ratelimit-limit-tokens': '1000',
        'x-ratelimit-remaining-tokens': '1000',
        'x-ratelimit-reset-tokens': '0s',
      },
    });
    counters.record(accessCounterId(ak), ak.rules, { tokens: 250, costUsd: 0 });
    clock.advance(1500);
    const second = admit();
    expect(second.headers).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '58.5s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '750',
      'x-ratelimit-reset-tokens': '58.5s',
    });
    expect(Object.keys(second.headers)).toEqual(Object.keys(admit().headers));
    clock.advance(20);
    expect(admit()).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      headers: {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '58.48s',
        'retry-after': '59',
      },
    });
  });

  it('writes only the headers of the limits set', () => {
    expect(Object.keys(setup({ ...limits, tpm: null }).admit().headers)).toEqual([
      'x-ratelimit-limit-requests',
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-requests',
    ]);
    expect(setup({ ...limits, rpm: null }).admit().headers).toEqual({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '0s',
    });
    expect(setup({ ...limits, rpm: null, tpm: null }).admit().headers).toEqual({});
  });
});

describe('counterSeeder', () => {
  const persisted = {
    requestsToday: 40,
    tokensToday: 9000,
    costUsdToday: 1.5,
    tokensMonth: 70_000,
    costUsdMonth: 12,
    costUsdTotal: 99,
  };
  const limits = {
    ...NO_LIMITS,
    rpm: 10,
    rpd: 50,
    tokensPerDay: 10_000,
    tokensPerMonth: 100_000,
    costUsdPerDay: 2,
    costUsdPerMonth: 20,
    costUsdTotal: 100,
  };
  const rpd = { ...NO_LIMITS, rpd: 50 };

  it('continues every day, month and total window from the persisted figures', async () => {
    const counters = new LocalCounters({ clock: { now: () => Date.parse('2026-12-05T12:00:00Z') } });
    const seed = counterSeeder(counters, () => Promise.resolve(new Map([[1, persisted]])));
    const rt = runtime({ groups: [group(1, 'oa')], accessKeys: [key(1, 'a', { limits })] });
    await seed(rt);
    const used = Object.fromEntries(firstKey(rt).rules.map((r) => [r.name, counters.usage('ak:1', r).used]));
    expect(used).toEqual({
      rpm: 0,
      rpd: 40,
      tokensPerDay: 9000,
      tokensPerMonth: 70_000,
      costUsdPerDay: 1.5,
      costUsdPerMonth: 12,
      costUsdTotal: 99,
    });
  });

  it('seeds each rule once: a reload does not count twice, a rule added later starts from the database', async () => {
    const counters = new LocalCounters({ clock: { now: () => Date.parse('2026-12-05T12:00:00Z') } });
    let stored = new Map<number, typeof persisted>();
    let reads = 0;
    const seed = counterSeeder(counters, () => {
      reads++;
      return Promise.resolve(stored);
    });
    const snapshot = (l: typeof rpd) => ({
      groups: [group(1, 'oa')],
      accessKeys: [key(1, 'a', { limits: l })],
    });
    const first = runtime(snapshot(rpd));
    await seed(first);
    const ak = firstKey(first);
    for (let i = 0; i < 3; i++) counters.admit('ak:1', ak.rules);
    counters.record('ak:1', ak.rules, { tokens: 500, costUsd: 0 });
    // The database has caught up with what this process counted; a reload must not add it again.
    stored = new Map([[1, { ...persisted, requestsToday: 3, tokensToday: 8000 }]]);
    await seed(runtime(snapshot(rpd)));
    expect(reads).toBe(1);
    const rpdRule = ak.rules.find((r) => r.name === 'rpd') as LimitRule;
    expect(counters.usage('ak:1', rpdRule).used).toBe(3);
    // A token budget added now starts from the day's tokens so far.
    const later = runtime(snapshot({ ...rpd, tokensPerDay: 10_000 }));
    await seed(later);
    expect(reads).toBe(2);
    const tokensRule = firstKey(later).rules.find((r) => r.name === 'tokensPerDay') as LimitRule;
    expect(counters.usage('ak:1', tokensRule).used).toBe(8000);
    expect(counters.usage('ak:1', rpdRule).used).toBe(3);
  });
});
