import { describe, expect, it } from 'vitest';
import { AuthFailureSampler } from './auth-failures';
import type { AuthFailureLine } from './auth-failures';

describe('AuthFailureSampler', () => {
  it('logs the first failure of a client per minute and counts the rest', () => {
    const lines: AuthFailureLine[] = [];
    const s = new AuthFailureSampler((l) => lines.push(l));
    for (let i = 0; i < 50; i++) s.fail('203.0.113.7', 'oa', 'invalid', 1000 + i);
    s.fail('198.51.100.2', 'oa', 'missing', 1100);
    expect(lines).toEqual([
      { clientIp: '203.0.113.7', group: 'oa', reason: 'invalid', suppressed: 0 },
      { clientIp: '198.51.100.2', group: 'oa', reason: 'missing', suppressed: 0 },
    ]);
    s.fail('203.0.113.7', 'oa', 'invalid', 1000 + 60_000);
    expect(lines[2]).toEqual({ clientIp: '203.0.113.7', group: 'oa', reason: 'invalid', suppressed: 49 });
  });

  it('logs at most 100 lines a minute when failures come from many addresses, and says how many it left out', () => {
    const lines: AuthFailureLine[] = [];
    const s = new AuthFailureSampler((l) => lines.push(l));
    for (let i = 0; i < 25_000; i++) s.fail(`10.0.${i >> 8}.${i & 255}`, 'oa', 'invalid', 5000);
    expect(lines).toHaveLength(100);
    s.fail('192.0.2.1', 'oa', 'invalid', 5000 + 60_000);
    expect(lines[100]).toMatchObject({ clientIp: '192.0.2.1', unloggedClients: 24_900 });
    expect((s as unknown as { clients: Map<string, unknown> }).clients.size).toBeLessThanOrEqual(10_000);
  });
});
