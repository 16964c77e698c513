import type { FailureClass } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import {
  HEALTHY,
  MAX_COOLING_MODELS,
  absolvedHealth,
  isCoolingFor,
  isUsable,
  liveModelCooling,
  nextHealth,
  sharedHealth,
} from './key-health';
import type { HealthPolicy, KeyHealth } from './key-health';

const NOW = 1_700_000_000_000;
const policy: HealthPolicy = {
  blacklistThreshold: 3,
  rateLimitCooldownSeconds: 5,
  rateLimitMaxCooldownSeconds: 60,
  quotaCooldownMinutes: 60,
};
const fresh: KeyHealth = {
  status: 'active',
  failureCount: 0,
  cooldownUntil: null,
  rateStrikes: 0,
  lastError: null,
};

/** Applies classes one after another, all at NOW. */
function apply(h: KeyHealth, classes: FailureClass[], p: HealthPolicy = policy): KeyHealth {
  return classes.reduce((acc, cls) => nextHealth(acc, cls, p, NOW), h);
}

describe('nextHealth — upstream failures', () => {
  it('counts consecutive upstream failures and blacklists at the threshold', () => {
    const two = apply(fresh, ['upstream', 'upstream']);
    expect(two).toMatchObject({ status: 'active', failureCount: 2 });
    const three = nextHealth(two, 'upstream', policy, NOW, { reason: '502 upstream error' });
    expect(three).toMatchObject({
      status: 'invalid',
      failureCount: 3,
      cooldownUntil: null,
      lastError: '502 upstream error',
    });
  });

  it.each([1, 2, 5])('blacklists after exactly %i failures with that threshold', (threshold) => {
    const p = { ...policy, blacklistThreshold: threshold };
    expect(apply(fresh, Array<FailureClass>(threshold - 1).fill('upstream'), p).status).toBe('active');
    expect(apply(fresh, Array<FailureClass>(threshold).fill('upstream'), p).status).toBe('invalid');
  });

  it('never blacklists with threshold 0', () => {
    const h = apply(fresh, Array<FailureClass>(1000).fill('upstream'), { ...policy, blacklistThreshold: 0 });
    expect(h).toMatchObject({ status: 'active', failureCount: 1000 });
  });

  it('keeps a cooling key cooling (and its cooldown) on an upstream failure below the threshold', () => {
    const cooling: KeyHealth = { ...fresh, status: 'cooling', cooldownUntil: NOW + 5000, rateStrikes: 1 };
    expect(nextHealth(cooling, 'upstream', policy, NOW)).toMatchObject({
      status: 'cooling',
      cooldownUntil: NOW + 5000,
      failureCount: 1,
    });
  });

  it('keeps an invalid key invalid on a late upstream failure (an in-flight request finishing after the 401)', () => {
    const invalid: KeyHealth = { ...fresh, status: 'invalid', lastError: '401 unauthorized' };
    expect(nextHealth(invalid, 'upstream', policy, NOW).status).toBe('invalid');
  });

  it.each<FailureClass>(['quota', 'rate', 'upstream', 'slow', 'auth'])(
    'counts no late %s failure of an invalid key: it stays invalid, never cooling (which would end by itself)',
    (cls) => {
      const invalid: KeyHealth = {
        ...fresh,
        status: 'invalid',
        failureCount: 3,
        lastError: '401 unauthorized',
      };
      expect(nextHealth(invalid, cls, policy, NOW, { retryAfterMs: 1000 })).toBe(invalid);
      expect(nextHealth(invalid, cls, policy, NOW, { retryAfterMs: 1000, model: 'm' })).toBe(invalid);
    },
  );

  it('uses the class as lastError when no reason is given', () => {
    expect(nextHealth(fresh, 'upstream', policy, NOW).lastError).toBe('upstream');
  });
});

describe('nextHealth — success', () => {
  it('resets failureCount and rate strikes, and reactivates a key whose cooldown is over', () => {
    const failing = apply(fresh, ['upstream', 'upstream', 'rate']);
    expect(failing).toMatchObject({ failureCount: 2, rateStrikes: 1, status: 'cooling' });
    const after = (failing.cooldownUntil ?? 0) + 1;
    expect(nextHealth(failing, 'ok', policy, after)).toEqual({
      status: 'active',
      failureCount: 0,
      cooldownUntil: null,
      rateStrikes: 0,
      lastError: failing.lastError,
    });
    const active = apply(fresh, ['upstream', 'upstream']);
    expect(nextHealth(active, 'ok', policy, NOW)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('returns the same object when nothing changes, so callers can skip the write', () => {
    expect(nextHealth(fresh, 'ok', policy, NOW)).toBe(fresh);
  });

  it('leaves a blacklisted or cooling key as it is after a success that was not a probe (sent before it failed)', () => {
    const invalid: KeyHealth = { ...fresh, status: 'invalid', failureCount: 3, lastError: '401' };
    expect(nextHealth(invalid, 'ok', policy, NOW)).toBe(invalid);
    const cooling = nextHealth(fresh, 'rate', policy, NOW);
    expect(nextHealth(cooling, 'ok', policy, NOW + 1)).toBe(cooling);
    expect(nextHealth(cooling, 'ok', policy, (cooling.cooldownUntil ?? 0) - 1)).toBe(cooling);
  });

  it("restores a blacklisted or cooling key on a probe's success", () => {
    const invalid: KeyHealth = { ...fresh, status: 'invalid', failureCount: 3, lastError: '401' };
    expect(nextHealth(invalid, 'ok', policy, NOW, { probe: true })).toMatchObject({
      status: 'active',
      failureCount: 0,
    });
    const cooling = nextHealth(fresh, 'quota', policy, NOW);
    expect(nextHealth(cooling, 'ok', policy, NOW + 1, { probe: true })).toMatchObject({
      status: 'active',
      cooldownUntil: null,
    });
  });
});

describe('nextHealth — rate limits', () => {
  it('backs off exponentially from rateLimitCooldownSeconds and caps at rateLimitMaxCooldownSeconds', () => {
    let h = fresh;
    let t = NOW;
    const cooldowns: number[] = [];
    for (let i = 0; i < 7; i++) {
      // Each 429 meets the key once its last cooldown is over (it is back in rotation, no success since).
      h = nextHealth(h, 'rate', policy, t);
      cooldowns.push(((h.cooldownUntil ?? 0) - t) / 1000);
      t = h.cooldownUntil ?? t;
    }
    expect(cooldowns).toEqual([5, 10, 20, 40, 60, 60, 60]);
    expect(h).toMatchObject({ status: 'cooling', rateStrikes: 7 });
  });

  it('adds no strike for 429s answered while the key already cools (requests sent before it began to)', () => {
    const cooling = nextHealth(fresh, 'rate', policy, NOW);
    expect(cooling).toMatchObject({ rateStrikes: 1, cooldownUntil: NOW + 5000 });
    expect(nextHealth(cooling, 'rate', policy, NOW + 10)).toBe(cooling);
    // A longer stated Retry-After extends the cooldown, still without a strike; a shorter one changes nothing.
    expect(nextHealth(cooling, 'rate', policy, NOW + 10, { retryAfterMs: 30_000 })).toMatchObject({
      rateStrikes: 1,
      cooldownUntil: NOW + 30_010,
    });
    expect(nextHealth(cooling, 'rate', policy, NOW + 10, { retryAfterMs: 2000 })).toBe(cooling);
    // A probe's 429 is news: a strike.
    expect(nextHealth(cooling, 'rate', policy, NOW + 10, { probe: true }).rateStrikes).toBe(2);
  });

  it('never shortens a cooldown: a late 429 does not cut a quota cooldown, a quota lengthens a rate one', () => {
    const quota = nextHealth(fresh, 'quota', policy, NOW, { retryAfterMs: 3_600_000 });
    expect(nextHealth(quota, 'rate', policy, NOW + 10, { retryAfterMs: 5000 })).toBe(quota);
    expect(nextHealth(quota, 'quota', policy, NOW + 10, { retryAfterMs: 5000 }).cooldownUntil).toBe(
      NOW + 3_600_000,
    );
    const rate = nextHealth(fresh, 'rate', policy, NOW);
    expect(nextHealth(rate, 'quota', policy, NOW + 10).cooldownUntil).toBe(NOW + 10 + 60 * 60_000);
  });

  it('honours Retry-After instead of the backoff, even beyond the cap', () => {
    expect(nextHealth(fresh, 'rate', policy, NOW, { retryAfterMs: 12_000 }).cooldownUntil).toBe(NOW + 12_000);
    expect(nextHealth(fresh, 'rate', policy, NOW, { retryAfterMs: 600_000 }).cooldownUntil).toBe(
      NOW + 600_000,
    );
  });

  it('cools for at least one second even when Retry-After says 0', () => {
    expect(nextHealth(fresh, 'rate', policy, NOW, { retryAfterMs: 0 }).cooldownUntil).toBe(NOW + 1000);
  });

  it('does not overflow the backoff after very many strikes', () => {
    const h = nextHealth({ ...fresh, rateStrikes: 5000 }, 'rate', policy, NOW);
    expect(h.cooldownUntil).toBe(NOW + 60_000);
  });
});

describe('nextHealth — quota', () => {
  it('cools for the provider-stated reset time when there is one', () => {
    expect(
      nextHealth(fresh, 'quota', policy, NOW, { retryAfterMs: 90_000, reason: '429 quota exhausted' }),
    ).toMatchObject({
      status: 'cooling',
      cooldownUntil: NOW + 90_000,
      lastError: '429 quota exhausted',
    });
  });

  it('cools for quotaCooldownMinutes otherwise', () => {
    expect(nextHealth(fresh, 'quota', policy, NOW).cooldownUntil).toBe(NOW + 60 * 60_000);
    expect(nextHealth(fresh, 'quota', { ...policy, quotaCooldownMinutes: 5 }, NOW).cooldownUntil).toBe(
      NOW + 5 * 60_000,
    );
  });

  it('does not add a rate strike', () => {
    expect(nextHealth(fresh, 'quota', policy, NOW).rateStrikes).toBe(0);
  });
});

describe('nextHealth — other classes', () => {
  it('marks a key invalid on an auth failure and clears its cooldown', () => {
    const cooling: KeyHealth = { ...fresh, status: 'cooling', cooldownUntil: NOW + 5000 };
    expect(nextHealth(cooling, 'auth', policy, NOW, { reason: '401 unauthorized' })).toMatchObject({
      status: 'invalid',
      cooldownUntil: null,
      lastError: '401 unauthorized',
    });
  });

  it.each<FailureClass>(['client', 'aborted'])('leaves the key untouched on %s', (cls) => {
    const h: KeyHealth = { ...fresh, failureCount: 2 };
    expect(nextHealth(h, cls, policy, NOW)).toBe(h);
  });

  it.each<FailureClass>(['ok', 'auth', 'quota', 'rate', 'upstream', 'client', 'aborted'])(
    'never touches a disabled key (%s)',
    (cls) => {
      const disabled: KeyHealth = { ...fresh, status: 'disabled', failureCount: 1 };
      expect(nextHealth(disabled, cls, policy, NOW)).toBe(disabled);
    },
  );
});

describe('sharedHealth', () => {
  it('gives every fresh key the one frozen HEALTHY, and any other state its own object', () => {
    expect(sharedHealth({ ...fresh })).toBe(HEALTHY);
    expect(Object.isFrozen(HEALTHY)).toBe(true);
    for (const h of [
      { ...fresh, failureCount: 1 },
      { ...fresh, status: 'disabled' as const },
      { ...fresh, lastError: 'old' },
      { ...fresh, rateStrikes: 1 },
      { ...fresh, cooldownUntil: NOW },
      { ...fresh, modelCooling: { 'gpt-x': { until: NOW + 1000, reason: 'quota' } } },
    ])
      expect(sharedHealth(h)).toBe(h);
  });

  it.each<FailureClass>(['ok', 'auth', 'quota', 'rate', 'upstream', 'slow', 'client', 'aborted', 'empty'])(
    'changes from the shared HEALTHY into a new object, never in place (%s)',
    (cls) => {
      const next = nextHealth(HEALTHY, cls, policy, NOW, { model: cls === 'rate' ? 'gpt-x' : undefined });
      const again = absolvedHealth(next, 'rate', policy);
      expect([next, again].every((h) => h === HEALTHY || !Object.isFrozen(h))).toBe(true);
      expect(HEALTHY).toEqual(fresh);
    },
  );
});

describe('isUsable', () => {
  it.each([
    ['active', null, true],
    ['cooling', NOW + 1, false],
    ['cooling', NOW, true],
    ['cooling', NOW - 1, true],
    ['cooling', null, true],
    ['invalid', null, false],
    ['disabled', null, false],
  ] as const)('%s until %s → %s', (status, cooldownUntil, usable) => {
    expect(isUsable({ status, cooldownUntil }, NOW)).toBe(usable);
  });
});

describe('nextHealth — model-scoped quota and rate errors', () => {
  it('cools the key for that model only: its status, failures and other models are untouched', () => {
    const h = nextHealth(fresh, 'quota', policy, NOW, {
      model: 'gemini-2.5-pro',
      retryAfterMs: 3_600_000,
      reason: '429 quota exhausted',
    });
    expect(h).toMatchObject({ status: 'active', failureCount: 0, cooldownUntil: null });
    expect(h.modelCooling).toEqual({
      'gemini-2.5-pro': { until: NOW + 3_600_000, reason: '429 quota exhausted (gemini-2.5-pro)' },
    });
    expect(isCoolingFor(h, 'gemini-2.5-pro', NOW)).toBe(true);
    expect(isCoolingFor(h, 'gemini-2.5-flash', NOW)).toBe(false);
    expect(isCoolingFor(h, 'gemini-2.5-pro', NOW + 3_600_000)).toBe(false);
  });

  it('without a stated reset a model quota rests quotaCooldownMinutes, a model rate limit the first backoff', () => {
    const q = nextHealth(fresh, 'quota', policy, NOW, { model: 'a' });
    expect(q.modelCooling?.a?.until).toBe(NOW + 60 * 60_000);
    const r = nextHealth(fresh, 'rate', policy, NOW, { model: 'b' });
    expect(r.modelCooling?.b?.until).toBe(NOW + 5000);
    expect(r.rateStrikes).toBe(0);
  });

  it('keeps the later end when a model cools again, drops ended entries, and survives a success', () => {
    let h = nextHealth(fresh, 'quota', policy, NOW, { model: 'a', retryAfterMs: 10_000 });
    h = nextHealth(h, 'rate', policy, NOW, { model: 'a', retryAfterMs: 2000 });
    expect(h.modelCooling?.a?.until).toBe(NOW + 10_000);
    h = nextHealth(h, 'quota', policy, NOW + 20_000, { model: 'b', retryAfterMs: 5000 });
    expect(Object.keys(h.modelCooling ?? {})).toEqual(['b']);
    h = nextHealth(h, 'ok', policy, NOW + 20_001);
    expect(liveModelCooling(h, NOW + 20_001)?.b?.until).toBe(NOW + 25_000);
    expect(liveModelCooling(h, NOW + 25_000)).toBeUndefined();
  });

  it('tracks at most MAX_COOLING_MODELS models, keeping the longest coolings', () => {
    let h = fresh;
    for (let i = 0; i < MAX_COOLING_MODELS + 5; i++)
      h = nextHealth(h, 'quota', policy, NOW, { model: `m${i}`, retryAfterMs: 1000 + i * 1000 });
    const models = Object.keys(h.modelCooling ?? {});
    expect(models).toHaveLength(MAX_COOLING_MODELS);
    expect(models).not.toContain('m0');
    expect(models).toContain(`m${MAX_COOLING_MODELS + 4}`);
  });

  it('a key-wide quota, an auth failure and an operator restore still work as before; overloaded/empty change nothing', () => {
    const cooled = nextHealth(fresh, 'quota', policy, NOW, { model: 'a' });
    expect(nextHealth(cooled, 'overloaded', policy, NOW)).toBe(cooled);
    expect(nextHealth(cooled, 'empty', policy, NOW)).toBe(cooled);
    expect(nextHealth(cooled, 'quota', policy, NOW).status).toBe('cooling');
    expect(nextHealth(cooled, 'auth', policy, NOW).status).toBe('invalid');
  });
});

describe('absolvedHealth — a storm takes back only its own charges', () => {
  it('a rate storm: strikes and the cooldown they started are taken back', () => {
    const struck = apply(fresh, ['rate']);
    expect(struck).toMatchObject({ status: 'cooling', rateStrikes: 1 });
    expect(absolvedHealth(struck, 'rate', policy)).toMatchObject({
      status: 'active',
      cooldownUntil: null,
      rateStrikes: 0,
    });
    // A strike on a key back in rotation (its cooldown over) is cleared too.
    const back = { ...struck, status: 'active' as const, cooldownUntil: null };
    expect(absolvedHealth(back, 'rate', policy)).toMatchObject({ status: 'active', rateStrikes: 0 });
  });

  it('an upstream storm: the failure count, and a blacklisting it reached, are taken back', () => {
    const two = apply(fresh, ['upstream', 'upstream']);
    expect(absolvedHealth(two, 'upstream', policy)).toMatchObject({ status: 'active', failureCount: 0 });
    const blacklisted = apply(fresh, ['upstream', 'upstream', 'upstream']);
    expect(blacklisted.status).toBe('invalid');
    expect(absolvedHealth(blacklisted, 'upstream', policy)).toMatchObject({
      status: 'active',
      failureCount: 0,
    });
  });

  it('what else happened to the key stays: disabled, a 401, a quota, the other class, a model cooling', () => {
    const disabled: KeyHealth = { ...apply(fresh, ['rate']), status: 'disabled', cooldownUntil: null };
    expect(absolvedHealth(disabled, 'rate', policy)).toBe(disabled);
    const disabledFailing: KeyHealth = { ...apply(fresh, ['upstream']), status: 'disabled' };
    expect(absolvedHealth(disabledFailing, 'upstream', policy)).toBe(disabledFailing);
    // A 429, then a 401 on the same key: the 401 stands.
    const revokedAfterRate = apply(fresh, ['rate', 'auth']);
    expect(revokedAfterRate).toMatchObject({ status: 'invalid', rateStrikes: 1 });
    expect(absolvedHealth(revokedAfterRate, 'rate', policy)).toBe(revokedAfterRate);
    // A 502 (below the threshold), then a 401: the 401 stands.
    const revokedAfterUpstream = apply(fresh, ['upstream', 'auth']);
    expect(revokedAfterUpstream).toMatchObject({ status: 'invalid', failureCount: 1 });
    expect(absolvedHealth(revokedAfterUpstream, 'upstream', policy)).toBe(revokedAfterUpstream);
    // A quota's cooldown is not a rate strike.
    const quota = apply(fresh, ['quota']);
    expect(absolvedHealth(quota, 'rate', policy)).toBe(quota);
    // An upstream storm says nothing of a rate cooldown, and the other way round.
    const rate = apply(fresh, ['rate']);
    expect(absolvedHealth(rate, 'upstream', policy)).toBe(rate);
    const failing = apply(fresh, ['upstream']);
    expect(absolvedHealth(failing, 'rate', policy)).toBe(failing);
    // A model's own cooling is kept when the key-wide strikes go.
    const modelCooled = nextHealth(rate, 'quota', policy, NOW, { model: 'm', retryAfterMs: 60_000 });
    expect(absolvedHealth(modelCooled, 'rate', policy).modelCooling).toEqual(modelCooled.modelCooling);
    // Nothing charged: the same object.
    expect(absolvedHealth(fresh, 'rate', policy)).toBe(fresh);
    expect(absolvedHealth(fresh, 'upstream', policy)).toBe(fresh);
  });
});
