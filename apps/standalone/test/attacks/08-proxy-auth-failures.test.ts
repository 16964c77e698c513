/**
 * Issue 11 item 8 (gateway side): wrong proxy keys are counted (`/metrics`, by group), logged at a sampled rate with
 * the client IP and never the key, and a dashboard warning appears above 100 failures in an hour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, randomSecret, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

interface Warning {
  type: string;
  message: string;
}

describe('attack 08: guessing proxy keys', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let group: CreatedGroup;
  const guesses = Array.from({ length: 120 }, (_, i) => `${randomSecret('guess-', 20)}${i}`);

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-08' });
    group = await createGroupWithKey(target, { name: 'guarded' });
  });
  afterAll(() => target?.close());

  it('120 wrong keys: 401 each, counted by group in /metrics, sampled in the log without the key, warned on the dashboard', async () => {
    for (const guess of guesses) expect((await chat({ ...group, proxyKey: guess })).status).toBe(401);
    expect(target.fake?.requests).toHaveLength(0);

    const metrics = await (await fetch(`${target.url}/metrics`)).text();
    expect(metrics).toContain('keyway_proxy_auth_failures_total{group="guarded"} 120');

    const refused = target.proc.lines.filter((l) => l.includes('missing or wrong proxy key'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(2);
    expect(refused[0]).toMatch(/"clientIp":"(::ffff:)?127\.0\.0\.1"/);

    // Refusals reach the request log in batches: the warning follows within a few seconds.
    let warning: Warning | undefined;
    for (let i = 0; i < 50 && !warning; i++) {
      const list = (await target.admin.get('/dashboard/warnings')).body as unknown as Warning[];
      warning = list.find((w) => w.type === 'PROXY_AUTH_FAILURES');
      if (!warning) await new Promise((r) => setTimeout(r, 200));
    }
    expect(warning?.message).toContain("'guarded' (120)");

    // No guess anywhere: process output, logs API, metrics.
    const logs = JSON.stringify((await target.admin.get('/logs?pageSize=200')).body);
    const everything = target.proc.lines.join('\n') + logs + metrics;
    for (const guess of guesses) expect(everything).not.toContain(guess);
    // The legitimate key still works.
    expect((await chat(group)).status).toBe(200);
  });
});
