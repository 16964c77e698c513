// The worker behind two gateways: 10,000 request logs land in the database exactly once with matching hourly
// stats, and a blacklisted key whose upstream recovers is restored by the scheduled re-check.
import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import type { Group } from '@keyway/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allServe,
  chat,
  createGroup,
  describeTally,
  eventually,
  findKey,
  logsLanded,
  report,
  requireAll,
  sleep,
  startCluster,
  startLoad,
  storedLogs,
} from './harness';
import type { App, Cluster } from './harness';

const available = await requireAll(['redis', 'nats', 'postgres']);

const PROXY_KEY = `pk-${randomBytes(16).toString('hex')}`;
const key = (name: string): string => `sk-e2e-${name}-${randomBytes(12).toString('hex')}`;
const BULK_KEYS = ['bulk1', 'bulk2', 'bulk3', 'bulk4'].map(key);
const [SICK, HEALTHY] = [key('sick'), key('healthy')];
const REQUESTS = 10_000;

describe.skipIf(!available)('the worker behind two gateways', () => {
  let fake: FakeUpstream;
  let cluster: Cluster;
  let gateways: App[];
  let bulk: Group;
  let recheck: Group;
  let firstCheckAt: number | null = null;

  /** When the worker last re-checked the group (epoch ms), null before its first check. */
  const lastValidatedAt = async (groupId: number): Promise<number | null> => {
    const [row] = await cluster.db.query<{ at: number | null }>(
      `SELECT (extract(epoch FROM "lastValidatedAt") * 1000)::float8 AS at FROM groups WHERE id = $1`,
      [groupId],
    );
    return row?.at ?? null;
  };

  beforeAll(async () => {
    fake = await startFakeUpstream();
    cluster = await startCluster({ label: 'worker', gateways: 2, workerEnv: { RECHECK_EVERY_SECONDS: '2' } });
    gateways = [...cluster.gateways];
    // The shortest re-check interval is one minute. The group is created first and its first check (a new group
    // is due at once) awaited: the interval then runs while the tests below blacklist a key and send their load.
    recheck = await createGroup(cluster.admin, {
      name: 'recheck',
      upstream: fake.url,
      proxyKey: PROXY_KEY,
      keys: [SICK, HEALTHY],
      config: { keyRecheckIntervalMinutes: 1 },
    });
    await eventually(
      "the worker's first re-check of the new group",
      async () => (firstCheckAt = await lastValidatedAt(recheck.id)) !== null,
      20_000,
      100,
    );
    bulk = await createGroup(cluster.admin, {
      name: 'bulk',
      upstream: fake.url,
      proxyKey: PROXY_KEY,
      keys: BULK_KEYS,
    });
    await eventually('both gateways serving both groups', async () => {
      const serving = await Promise.all(['bulk', 'recheck'].map((n) => allServe(gateways, n, PROXY_KEY)));
      return serving.every(Boolean);
    });
  }, 90_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') cluster?.printLogTails(40);
  });

  afterAll(async () => {
    await cluster?.close();
    await fake?.close();
  }, 60_000);

  const keyStatusInDb = async (value: string): Promise<string | undefined> => {
    const { id } = await findKey(cluster.admin, recheck.id, value);
    const rows = await cluster.db.query<{ status: string }>('SELECT status FROM api_keys WHERE id = $1', [
      id,
    ]);
    return rows[0]?.status;
  };

  it('persists a key the gateways blacklisted (upstream 401)', async () => {
    fake.setKeyBehaviour(SICK, { status: 401, message: 'Incorrect API key provided' });
    const from = fake.requests.length;
    await eventually('a gateway meeting the 401', async () => {
      await Promise.all(gateways.map((g) => chat(g.url, 'recheck', { proxyKey: PROXY_KEY })));
      return fake.requests.slice(from).some((r) => r.key === SICK);
    });
    const ms = await eventually(
      'the invalid state in the database',
      async () => (await keyStatusInDb(SICK)) === 'invalid',
    );
    report('blacklisted key persisted by the worker (gateway → key-events → api_keys)', `${ms} ms`);
    // The upstream recovers; only the scheduled re-check can bring the key back.
    fake.setKeyBehaviour(SICK, undefined);
  });

  it(`stores ${REQUESTS.toLocaleString('en')} request logs exactly once, with matching hourly stats`, async () => {
    const names = new Map(gateways.map((g) => [g.url, g.name]));
    const tag = `bulk${randomBytes(3).toString('hex')}`;
    const started = performance.now();
    const load = startLoad({
      targets: () => gateways.map((g) => g.url),
      group: 'bulk',
      proxyKey: PROXY_KEY,
      tag,
      concurrency: 32,
      limit: REQUESTS,
    });
    await load.done;
    const sentMs = Math.round(performance.now() - started);
    report(
      `${REQUESTS.toLocaleString('en')} requests through 2 gateways (32 concurrent)`,
      `${sentMs} ms (${Math.round((REQUESTS / sentMs) * 1000)} req/s); ${describeTally(load.tally, names)}`,
    );
    expect(load.failed()).toBe(0);
    const ids = load.okIds();
    const landedMs = await logsLanded(cluster.db, ids, 90_000);
    report(
      `${REQUESTS.toLocaleString('en')} log records in the database`,
      `all rows +${landedMs} ms after the last response (${sentMs + landedMs} ms from the first request)`,
    );
    // Nothing more arrives later (no duplicates from retried batches), and every request id is there once.
    await sleep(1500);
    expect(await storedLogs(cluster.db, ids)).toEqual({ n: REQUESTS, distinct: REQUESTS });

    // The group's hourly stats add up to its log rows (per hour and model), and so do the keys' request counts.
    const logs = await cluster.db.query<{ hour: string; model: string; n: number; failures: number }>(
      `SELECT date_trunc('hour', "time")::text AS hour, coalesce(model, '') AS model, count(*)::int AS n,
              (count(*) FILTER (WHERE NOT success))::int AS failures
         FROM request_logs WHERE "groupId" = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [bulk.id],
    );
    // The counters travel apart from the logs (usage batches, about one a second per gateway, whatever
    // requestLogging says): wait for them to add up.
    const readStats = () =>
      cluster.db.query<{ hour: string; model: string; n: number; failures: number }>(
        `SELECT "time"::text AS hour, model, sum(requests)::int AS n, sum(failures)::int AS failures
           FROM hourly_stats WHERE "groupId" = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
        [bulk.id],
      );
    let stats = await readStats();
    const statsMs = await eventually(
      'the hourly stats adding up to the log rows',
      async () => JSON.stringify((stats = await readStats())) === JSON.stringify(logs),
      30_000,
      250,
    ).catch(() => null);
    report(
      'hourly stats of the group (hour, model, requests, failures)',
      `${JSON.stringify(stats)}${statsMs === null ? '' : ` (+${statsMs} ms)`}`,
    );
    expect(stats).toEqual(logs);
    const total = logs.reduce((sum, l) => sum + l.n, 0);
    expect(total).toBeGreaterThanOrEqual(REQUESTS);
    const [counted] = await cluster.db.query<{ n: number }>(
      'SELECT sum("requestCount")::int AS n FROM api_keys WHERE "groupId" = $1',
      [bulk.id],
    );
    expect(counted?.n).toBe(total);
  });

  it('restores the blacklisted key with the scheduled re-check once the upstream recovers', async () => {
    // The worker looks for due groups every 2 s, and several looks have passed since the upstream recovered: while
    // the group's one-minute interval runs, none of them re-checks it (not asserted on a machine so slow that the
    // interval could have run out by now).
    const first = firstCheckAt ?? 0;
    const intervalRan = Date.now() - first;
    if (intervalRan < 50_000) {
      expect(await lastValidatedAt(recheck.id)).toBe(first);
      expect(await keyStatusInDb(SICK)).toBe('invalid');
    }
    // Rather than wait out the rest of the minute, the previous check is moved a minute back (the worker reads it
    // from the database on every look), so the interval has run out and the next scheduled look re-checks.
    await cluster.db.query(
      `UPDATE groups SET "lastValidatedAt" = "lastValidatedAt" - interval '1 minute' WHERE id = $1`,
      [recheck.id],
    );
    const ms = await eventually(
      'the re-check restoring the key',
      async () => (await findKey(cluster.admin, recheck.id, SICK)).status === 'active',
      30_000,
      250,
    );
    expect(await lastValidatedAt(recheck.id)).toBeGreaterThan(first);
    expect(await keyStatusInDb(SICK)).toBe('active');
    const usesIt = async (g: App): Promise<boolean> => {
      const from = fake.requests.length;
      for (let i = 0; i < 4; i++)
        expect((await chat(g.url, 'recheck', { proxyKey: PROXY_KEY })).status).toBe(200);
      return fake.requests.slice(from).some((r) => r.key === SICK);
    };
    const back = await eventually('both gateways using the key again', async () => {
      for (const g of gateways) if (!(await usesIt(g))) return false;
      return true;
    });
    report(
      'scheduled re-check (keyRecheckIntervalMinutes=1, RECHECK_EVERY_SECONDS=2)',
      `not re-checked ${Math.round(intervalRan / 1000)} s into the group's interval; ` +
        `key restored ${ms} ms after its previous check was moved a minute back; both gateways using it again +${back} ms`,
    );
  });
});
