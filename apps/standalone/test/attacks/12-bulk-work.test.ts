/**
 * Issue 11, item 12: bulk work never stalls the gateway. Importing 100,000 keys used to block standalone for
 * ~8 s (a proxied call waited 7.8 s and failed with ECONNRESET). Here a real standalone process serves steady
 * proxy traffic while it deletes 200,000 expired request logs, imports 100,000 keys and exports them; the
 * event-loop delay is read from inside the process (`/metrics`), so other load on the machine does not decide
 * the verdict, and every figure is printed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyMigrations, createPrismaClient, createSqliteLogWriter } from '@keyway/db';
import type { DbConnection } from '@keyway/db';
import { requestLogRecord } from '@keyway/db/testing';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';

const AUTH_KEY = `bulk-admin-${randomBytes(12).toString('base64url')}`;
const PROXY_KEY = `bulk-proxy-${randomBytes(12).toString('base64url')}`;
// Explicit, so the test covers the encrypted path (the costlier one) whatever the default becomes.
const ENCRYPTION_KEY = `bulk-encryption-${randomBytes(16).toString('base64url')}`;
const IMPORTED = 100_000;
const OLD_LOGS = 200_000;
/** The bound on event-loop delay while bulk work runs. */
const LOOP_P99_MS = 50;
/**
 * The import's bound, above the 50 ms, for a shared two-core machine. Measured 36–48 ms p99 (max 53–122)
 * at load averages of 5–20, noise floor 5–40 ms. Sealing, opening and hashing run in a worker thread (their
 * native objects made main-thread GC pauses of 20–80 ms), SQLite inserts in transactions of a few ms with a rest
 * after each; what remains is the OS preempting this thread on a busy machine and one 40–60 ms validation of
 * the queued payload. The 8 s stall this reproduces is far beyond it.
 */
const IMPORT_LOOP_P99_MS = 150;
/**
 * A bound on the single worst stall and on the slowest proxied call, with a margin for a shared two-core
 * machine (a GC pause, or another process taking the CPU while this one is mid-slice); the 8 s stall this
 * reproduces is far beyond it.
 */
const WORST_MS = 2000;

interface LoopDelay {
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Reads (and resets: each scrape starts a new window) the process's own event-loop delay figures. */
async function loopDelay(base: string): Promise<LoopDelay> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = (name: string): number => {
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`/metrics has no ${name}`);
    return Number(m[1]) * 1000;
  };
  return {
    p99Ms: gauge('nodejs_eventloop_lag_p99_seconds'),
    maxMs: gauge('nodejs_eventloop_lag_max_seconds'),
    meanMs: gauge('nodejs_eventloop_lag_seconds'),
  };
}

interface TrafficFigures {
  sent: number;
  failures: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Starts one proxied chat completion every `everyMs` over keep-alive connections; `stop()` returns figures. */
function steadyTraffic(base: string, everyMs = 10): { stop: () => Promise<TrafficFigures> } {
  const latencies: number[] = [];
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const one = async (): Promise<void> => {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/proxy/bulk/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) failures.push(`HTTP ${res.status}`);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      failures.push(err.cause?.code ?? err.message);
    }
    latencies.push(performance.now() - t0);
  };
  const timer = setInterval(() => {
    const p = one();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return { sent: latencies.length, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

function report(what: string, durationMs: number, traffic: TrafficFigures, loop: LoopDelay): void {
  console.log(
    `[12-bulk-work] ${what}: ${(durationMs / 1000).toFixed(2)} s; proxy ${traffic.sent} requests, ` +
      `${traffic.failures.length} failed, latency p50 ${ms(traffic.p50Ms)} p99 ${ms(traffic.p99Ms)} ` +
      `max ${ms(traffic.maxMs)}; event-loop delay p99 ${ms(loop.p99Ms)} max ${ms(loop.maxMs)} ` +
      `mean ${ms(loop.meanMs)}`,
  );
}

/**
 * The event-loop delay of the same process serving the same traffic with no bulk work, measured right before:
 * on an idle machine a few ms. When other processes keep both cores busy, a process is descheduled now and then
 * whatever it runs, and its timers fire late by that much; the bound then allows twice this floor (printed).
 */
async function noiseFloor(base: string): Promise<LoopDelay> {
  await loopDelay(base);
  const traffic = steadyTraffic(base);
  await new Promise((r) => setTimeout(r, 3000));
  await traffic.stop();
  const floor = await loopDelay(base);
  console.log(
    `[12-bulk-work] noise floor (same traffic, no bulk work): event-loop delay p99 ${ms(floor.p99Ms)} ` +
      `max ${ms(floor.maxMs)}`,
  );
  return floor;
}

function expectNoStall(
  traffic: TrafficFigures,
  loop: LoopDelay,
  floor: LoopDelay,
  p99Bound = LOOP_P99_MS,
): void {
  expect(traffic.failures).toEqual([]);
  expect(traffic.sent).toBeGreaterThan(50);
  expect(loop.p99Ms).toBeLessThanOrEqual(Math.max(p99Bound, 2 * floor.p99Ms));
  expect(loop.maxMs).toBeLessThanOrEqual(WORST_MS);
  expect(traffic.maxMs).toBeLessThanOrEqual(WORST_MS);
}

/** Request logs older than the default 7-day retention, written straight into the database before start. */
async function seedExpiredLogs(url: string, count: number): Promise<void> {
  await applyMigrations(url);
  const writer = createSqliteLogWriter(url);
  const time = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const batch = 5000;
  for (let n = 0; n < count; n += batch) {
    await writer.write(
      Array.from({ length: Math.min(batch, count - n) }, (_, i) =>
        requestLogRecord(n + i, { time, groupId: 1, groupName: 'gone', error: 'x'.repeat(200) }),
      ),
    );
  }
  await writer.close();
}

/** Request logs past retention, counted by the test's own connection (no work for the process under test). */
function expiredLogs(conn: DbConnection): Promise<number> {
  return conn.prisma.requestLog.count({ where: { time: { lt: new Date(Date.now() - 8 * 86_400_000) } } });
}

describe('bulk work never stalls the gateway', () => {
  const tmp = tempDir('bulk-work');
  const dbFile = join(tmp.dir, 'keyway.db');
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let admin: ReturnType<typeof adminClient>;
  let importGroup: number;
  let reader: DbConnection;
  const keys = Array.from(
    { length: IMPORTED },
    (_, i) => `sk-bulk-${i}-${randomBytes(18).toString('base64url')}`,
  );

  beforeAll(async () => {
    fake = await startFakeUpstream();
    await seedExpiredLogs(`file:${dbFile}`, OLD_LOGS);
    reader = createPrismaClient(`file:${dbFile}`);
  }, 120_000);
  afterAll(async () => {
    await reader?.close();
    await app?.proc.stop();
    await fake?.close();
    tmp.cleanup();
  });

  it('keeps proxying while it deletes 200,000 expired request logs at start-up', async () => {
    app = await startStandalone(tmp.dir, { AUTH_KEY, ENCRYPTION_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const started = performance.now();
    const created = await admin.post('/groups', {
      name: 'bulk',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
      proxyKeys: [PROXY_KEY],
    });
    expect(created.status).toBe(201);
    expect(
      (await admin.post(`/groups/${created.body.id as number}/keys`, { keys: 'sk-live-one\nsk-live-two' }))
        .status,
    ).toBe(200);
    const remainingAtStart = await expiredLogs(reader);
    await loopDelay(app.url);
    const traffic = steadyTraffic(app.url);
    while ((await expiredLogs(reader)) > 0) {
      if (performance.now() - started > 120_000) throw new Error('retention did not finish in 2 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const duration = performance.now() - started;
    const figures = await traffic.stop();
    const loop = await loopDelay(app.url);
    console.log(`[12-bulk-work] expired logs left when traffic started: ${remainingAtStart} of ${OLD_LOGS}`);
    report(`retention of ${OLD_LOGS} request logs`, duration, figures, loop);
    // Most of the deleting happened under measurement (it starts with the process).
    expect(remainingAtStart).toBeGreaterThan(OLD_LOGS / 2);
    expectNoStall(figures, loop, await noiseFloor(app.url));
  }, 180_000);

  it('keeps proxying while it imports 100,000 keys as a task', async () => {
    const g = await admin.post('/groups', {
      name: 'bulk-import',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
    });
    importGroup = g.body.id as number;
    const floor = await noiseFloor(app.url);
    await loopDelay(app.url);
    const traffic = steadyTraffic(app.url);
    const started = performance.now();
    const accepted = await admin.post(`/groups/${importGroup}/keys`, { keys: keys.join('\n') });
    expect(accepted.status).toBe(202);
    let task: Record<string, unknown>;
    for (;;) {
      task = (await admin.get(`/tasks/${accepted.body.taskId as string}`)).body;
      if (task.state === 'succeeded' || task.state === 'failed') break;
      if (performance.now() - started > 300_000) throw new Error('the import did not finish in 5 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const duration = performance.now() - started;
    const figures = await traffic.stop();
    const loop = await loopDelay(app.url);
    report(`import of ${IMPORTED} keys`, duration, figures, loop);
    expect(task).toMatchObject({
      state: 'succeeded',
      result: { added: IMPORTED, ignored: 0, total: IMPORTED },
    });
    expectNoStall(figures, loop, floor, IMPORT_LOOP_P99_MS);
  }, 360_000);

  it('keeps proxying while it streams an export of 100,000 keys', async () => {
    const floor = await noiseFloor(app.url);
    await loopDelay(app.url);
    const traffic = steadyTraffic(app.url);
    const started = performance.now();
    const res = await fetch(`${app.url}/api/groups/${importGroup}/keys/export`, {
      headers: { authorization: `Bearer ${AUTH_KEY}` },
    });
    expect(res.status).toBe(200);
    const firstByteMs = performance.now() - started;
    const text = await res.text();
    const duration = performance.now() - started;
    const figures = await traffic.stop();
    const loop = await loopDelay(app.url);
    console.log(`[12-bulk-work] export: first byte after ${ms(firstByteMs)}, ${text.length} bytes`);
    report(`export of ${IMPORTED} keys`, duration, figures, loop);
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBe(IMPORTED);
    expect(new Set(lines)).toEqual(new Set(keys));
    expectNoStall(figures, loop, floor);
  }, 180_000);
});
