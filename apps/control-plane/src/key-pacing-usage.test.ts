import { keyLimitsSchema } from '@keyway/contracts';
import type { LogPort } from '@keyway/core';
import { keyPacingRules, LocalCounters, upstreamKeyCounterId } from '@keyway/limits';
import { describe, expect, it } from 'vitest';
import { keyPacingUsage } from './key-pacing-usage';

function memoryLog(): LogPort & { lines: string[] } {
  const lines: string[] = [];
  const push = (_: object, msg?: string): void => void lines.push(msg ?? '');
  return { lines, info: push, warn: push, error: push };
}

const limits = keyLimitsSchema.parse({ default: { rpm: 10 } });

describe('keyPacingUsage', () => {
  it("shows each key's requests this minute, tokens this minute and requests today as the gateways count them", async () => {
    const t = { now: Date.parse('2026-12-06T07:30:00Z') }; // 23:30 on Dec 5 in Los Angeles
    const counters = new LocalCounters({ clock: { now: () => t.now } });
    // What a gateway counts for key 5 of a gemini group (daily window in Pacific time).
    const rules = keyPacingRules(limits, null, 'America/Los_Angeles').total;
    for (let i = 0; i < 3; i++) counters.admit(upstreamKeyCounterId(5), rules);
    counters.record(upstreamKeyCounterId(5), rules, { tokens: 1200, costUsd: 0 });
    t.now += 65_000; // the minute has passed; the Pacific day has not
    counters.admit(upstreamKeyCounterId(5), rules);
    counters.record(upstreamKeyCounterId(5), rules, { tokens: 300, costUsd: 0 });
    const group = { channel: 'gemini', keyLimits: limits, dailyResetTimeZone: null };
    const usage = await keyPacingUsage({ counters, logger: memoryLog() }, group, [5, 6]);
    expect(usage.get(5)).toEqual({ rpmNow: 1, tpmNow: 300, requestsToday: 4 });
    expect(usage.get(6)).toEqual({ rpmNow: 0, tpmNow: 0, requestsToday: 0 });
  });

  it('gives nothing for a group without keyLimits, and zeros when the counters cannot be read', async () => {
    const logger = memoryLog();
    const none = { channel: 'openai', keyLimits: null, dailyResetTimeZone: null };
    expect((await keyPacingUsage({ logger }, none, [1])).size).toBe(0);
    const counters = { read: () => Promise.reject(new Error('redis away')) };
    const group = { channel: 'openai', keyLimits: limits, dailyResetTimeZone: null };
    const usage = await keyPacingUsage({ counters, logger }, group, [1, 2]);
    expect([...usage.values()]).toEqual([
      { rpmNow: 0, tpmNow: 0, requestsToday: 0 },
      { rpmNow: 0, tpmNow: 0, requestsToday: 0 },
    ]);
    expect(logger.lines).toHaveLength(1);
  });
});
