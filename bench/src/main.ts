/**
 * `pnpm bench`: fake upstream (direct) vs a bare hono + undici pass-through (bare) vs the built Keyway
 * standalone app (keyway), each a real process on 127.0.0.1. Prints a table and writes
 * bench/results/latest.json. Only ratios from one run mean much on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, platform, arch, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { ManagedProcess } from '@keyway/testing';
import { parseOptions, usage, type BenchOptions } from './args';
import { sequential, type Target, type Timing } from './client';
import { ensureDistributedBuilt, startDistributed } from './distributed';
import { ensureStandaloneBuilt, startKeyway } from './keyway';
import { runLoad, type LoadResult } from './load';
import {
  benchDir,
  cpuSeconds,
  installSignalHandlers,
  machineBusySeconds,
  memoryMiB,
  pidsNamed,
  shutdownAll,
  startScript,
} from './procs';
import { medianBy, ratio, round, summarize } from './stats';
import { renderReport, type Report } from './report';

const TARGETS = ['direct', 'bare', 'keyway', 'distributed'] as const;
const HELPERS = ['worker', 'postgres', 'redis', 'controlPlane', 'nats'] as const;
type HelperName = (typeof HELPERS)[number];
type TargetName = (typeof TARGETS)[number];

/** A ~300-byte OpenAI chat completion request. */
function chatBody(stream: boolean): Buffer {
  const body = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      {
        role: 'user',
        content:
          'Write one short paragraph about why API gateways should stream tokens to the client without buffering them, and keep it brief.',
      },
    ],
    temperature: 0.7,
    max_tokens: 256,
    user: 'keyway-bench',
    ...(stream ? { stream: true } : {}),
  };
  return Buffer.from(JSON.stringify(body));
}

interface UpstreamStats {
  total: number;
  aborted: number;
  keys: Record<string, number>;
}

async function upstreamStats(control: string, reset = false): Promise<UpstreamStats> {
  const res = await fetch(`${control}/${reset ? 'reset' : 'stats'}`, { method: reset ? 'POST' : 'GET' });
  return (await res.json()) as UpstreamStats;
}

/** Waits (up to `maxSec`) until the machine's busy CPU over 1 s is under a quarter of a core. */
async function waitForQuiet(maxSec: number): Promise<void> {
  const until = Date.now() + maxSec * 1000;
  while (Date.now() < until) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineBusySeconds() - before;
    if (!(busy >= 0.25)) return; // NaN (no /proc) counts as quiet
  }
  log(`machine still busy after ${maxSec} s; measuring anyway`);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const versionOf = (pkg: string): string => {
  try {
    const require = createRequire(import.meta.url);
    const file = require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

async function run(opts: BenchOptions): Promise<Report> {
  const started = Date.now();
  ensureStandaloneBuilt();
  ensureDistributedBuilt();

  // ---- targets ------------------------------------------------------------------------------------------
  log('starting fake upstream, bare gateway and keyway…');
  const upstream = await startScript<{ url: string; control: string }>('upstream-proc.ts', {
    STREAM_DELAY_MS: String(opts.streamDelayMs),
    STREAM_CHUNKS: String(opts.streamChunks),
  });
  const bareProxyKey = `bench-proxy-bare-${randomBytes(8).toString('hex')}`;
  const bareKeys = Array.from(
    { length: 20 },
    (_, i) => `sk-bench-bare-${i}-${randomBytes(6).toString('hex')}`,
  );
  const bare = await startScript<{ url: string }>('bare-gateway.ts', {
    UPSTREAM: upstream.info.url,
    UPSTREAM_KEYS: bareKeys.join(','),
    PROXY_KEY: bareProxyKey,
    BARE_MODE: opts.bareMode,
  });
  const keyway = await startKeyway(upstream.info.url);
  const distributed = await startDistributed(upstream.info.url);

  const path = '/v1/chat/completions';
  const targets: Record<TargetName, Target> = {
    direct: {
      name: 'direct',
      url: `${upstream.info.url}${path}`,
      headers: { authorization: 'Bearer sk-bench-direct' },
    },
    bare: {
      name: 'bare',
      url: `${bare.info.url}${path}`,
      headers: { authorization: `Bearer ${bareProxyKey}` },
    },
    keyway: { name: 'keyway', url: keyway.url, headers: { authorization: `Bearer ${keyway.proxyKey}` } },
    distributed: {
      name: 'distributed',
      url: distributed.url,
      headers: { authorization: `Bearer ${distributed.proxyKey}` },
    },
  };
  const gatewayProc: Record<TargetName, ManagedProcess | undefined> = {
    direct: undefined,
    bare: bare.proc,
    keyway: keyway.proc,
    distributed: distributed.proc,
  };
  // The distributed gateway's control plane and worker (log ingest) work during its load run too, and so do
  // PostgreSQL (log inserts), Redis (queues, key pool) and NATS, on the same 2 cores here. Processes are listed
  // before and after a run: one started during it (a PostgreSQL backend for a new pool connection) counts whole.
  const [cpProc, workerProc] = distributed.others;
  type HelperCpu = Record<HelperName, Map<number, number>>;
  const helperCpu = (name: TargetName): HelperCpu | null => {
    if (name !== 'distributed') return null;
    const read = (pids: number[]) => new Map(pids.filter((p) => p > 0).map((p) => [p, cpuSeconds(p)]));
    return {
      worker: read([workerProc?.child.pid ?? 0]),
      postgres: read(pidsNamed(['postgres'])),
      redis: read(pidsNamed(['redis-server'])),
      controlPlane: read([cpProc?.child.pid ?? 0]),
      nats: read(pidsNamed(['nats-server'])),
    };
  };
  /** CPU seconds each helper group spent between two readings. */
  const helperDelta = (a: HelperCpu, b: HelperCpu): Record<HelperName, number> =>
    Object.fromEntries(
      HELPERS.map((k) => {
        let sum = 0;
        for (const [pid, after] of b[k]) {
          const before = a[k].get(pid) ?? 0;
          if (Number.isFinite(after) && Number.isFinite(before)) sum += after - before;
        }
        return [k, sum];
      }),
    ) as Record<HelperName, number>;
  const jsonBody = chatBody(false);
  const streamBody = chatBody(true);

  // ---- sanity: every target answers 200 with the upstream's answer, and streams --------------------------
  const checks: Report['checks'] = [];
  for (const name of TARGETS) {
    const [plain] = await sequential(targets[name], jsonBody, { warmup: 0, samples: 1 });
    const [streamed] = await sequential(targets[name], streamBody, { warmup: 0, samples: 1 });
    const ok = plain?.status === 200 && streamed?.status === 200 && (streamed?.sseEvents ?? 0) > 1;
    checks.push({
      name: `${name}: JSON and SSE answers`,
      ok,
      detail: `JSON ${plain?.status}, SSE ${streamed?.status} with ${streamed?.sseEvents} events in ${streamed?.reads} reads`,
    });
    if (!ok)
      throw new Error(`target ${name} does not answer properly: ${JSON.stringify({ plain, streamed })}`);
  }

  // ---- load: 64 connections, in rounds ------------------------------------------------------------------
  // One 10 s run per target swings ±10% on a shared 2-core machine: each target runs `rounds` times, the order
  // rotating so that none always follows the same neighbour, and its median round is the one reported.
  type LoadRun = LoadResult & {
    upstreamSaw: number;
    upstreamKeys: Record<string, number>;
    gatewayCpuUsPerReq: number | null;
    upstreamCpuUsPerReq: number | null;
    otherCpuSec: number;
    helpersCpuUsPerReq: number | null;
    helpersCpuUsPerReqBy: Record<HelperName, number | null> | null;
  };
  const runs = Object.fromEntries(TARGETS.map((t) => [t, [] as LoadRun[]])) as Record<TargetName, LoadRun[]>;
  let keywayMemAfterLoad = { rss: Number.NaN, peak: Number.NaN };
  for (let pass = 0; pass < opts.rounds; pass++) {
    const order = TARGETS.map((_, i) => TARGETS[(i + pass) % TARGETS.length] as TargetName);
    for (const name of order) {
      const base = { url: targets[name].url, body: jsonBody.toString('utf8'), connections: opts.connections };
      const headers = { ...targets[name].headers, 'content-type': 'application/json' };
      if (pass === 0 && opts.warmupSec > 0) {
        log(`${name}: warm-up ${opts.warmupSec} s at ${opts.connections} connections…`);
        await runLoad({ ...base, headers, durationSec: Math.max(1, Math.round(opts.warmupSec)) });
      }
      log(
        `${name}: round ${pass + 1}/${opts.rounds}, ${opts.durationSec} s at ${opts.connections} connections…`,
      );
      if (opts.quietWaitSec > 0) await waitForQuiet(opts.quietWaitSec);
      await upstreamStats(upstream.info.control, true);
      const gwPid = gatewayProc[name]?.child.pid;
      const upPid = upstream.proc.child.pid;
      const self0 = process.cpuUsage();
      const cpu0 = {
        gw: cpuSeconds(gwPid),
        up: cpuSeconds(upPid),
        helpers: helperCpu(name),
        all: machineBusySeconds(),
      };
      const result = await runLoad({
        ...base,
        headers,
        durationSec: Math.max(1, Math.round(opts.durationSec)),
      });
      const cpu1 = {
        gw: cpuSeconds(gwPid),
        up: cpuSeconds(upPid),
        helpers: helperCpu(name),
        all: machineBusySeconds(),
      };
      const helperSec = cpu0.helpers && cpu1.helpers ? helperDelta(cpu0.helpers, cpu1.helpers) : null;
      const helpersTotal = helperSec ? HELPERS.reduce((n, k) => n + helperSec[k], 0) : 0;
      const self = process.cpuUsage(self0);
      // everything the benchmark's own processes used; the rest of the machine's busy time is someone else's
      const ours =
        result.loadGenCpuSec +
        (cpu1.up - cpu0.up) +
        (gwPid === undefined ? 0 : cpu1.gw - cpu0.gw) +
        helpersTotal +
        (self.user + self.system) / 1e6;
      const seen = await upstreamStats(upstream.info.control);
      const perReq = (a: number, b: number): number | null =>
        round(((b - a) * 1e6) / Math.max(result.requests, 1), 1);
      runs[name].push({
        ...result,
        upstreamSaw: seen.total,
        upstreamKeys: seen.keys,
        gatewayCpuUsPerReq: gwPid === undefined ? null : perReq(cpu0.gw, cpu1.gw),
        upstreamCpuUsPerReq: perReq(cpu0.up, cpu1.up),
        otherCpuSec: cpu1.all - cpu0.all - ours,
        helpersCpuUsPerReq: helperSec ? perReq(0, helpersTotal) : null,
        helpersCpuUsPerReqBy: helperSec
          ? (Object.fromEntries(HELPERS.map((k) => [k, perReq(0, helperSec[k])])) as Record<
              HelperName,
              number | null
            >)
          : null,
      });
      if (name === 'keyway') {
        const mem = memoryMiB(gwPid);
        if (!(mem.rss <= keywayMemAfterLoad.rss)) keywayMemAfterLoad = mem; // the largest of the rounds
      }
    }
  }
  const load = Object.fromEntries(TARGETS.map((t) => [t, medianBy(runs[t], (r) => r.rps)])) as Record<
    TargetName,
    LoadRun
  >;
  for (const run of runs.keyway) {
    const keysUsed = Object.keys(run.upstreamKeys);
    checks.push({
      name: 'keyway: load reached the upstream with pooled keys only',
      ok:
        keysUsed.length > 0 &&
        keysUsed.every((k) => keyway.upstreamKeys.includes(k)) &&
        run.upstreamSaw >= run.requests - run.non2xx,
      detail: `${run.upstreamSaw} upstream requests for ${run.requests} answered, ${keysUsed.length}/${keyway.upstreamKeys.length} keys used`,
    });
  }
  for (const name of TARGETS) {
    const sum = (f: (r: LoadRun) => number) => runs[name].reduce((n, r) => n + f(r), 0);
    const [non2xx, errors, timeouts] = [sum((r) => r.non2xx), sum((r) => r.errors), sum((r) => r.timeouts)];
    checks.push({
      name: `${name}: no failed requests under load`,
      ok: non2xx === 0 && errors === 0 && timeouts === 0,
      detail: `non-2xx ${non2xx}, errors ${errors}, timeouts ${timeouts} in ${runs[name].length} round(s)`,
    });
  }

  // ---- one connection -----------------------------------------------------------------------------------
  const oneConn = {} as Record<TargetName, Timing[]>;
  for (const name of TARGETS) {
    log(`${name}: 1-connection latency for ${opts.latencySec} s…`);
    oneConn[name] = await sequential(targets[name], jsonBody, {
      warmup: 200,
      durationMs: opts.latencySec * 1000,
    });
  }

  // ---- streaming ----------------------------------------------------------------------------------------
  const streams = {} as Record<TargetName, Timing[]>;
  for (const name of TARGETS) {
    log(`${name}: ${opts.streamSamples} sequential streamed requests…`);
    streams[name] = await sequential(targets[name], streamBody, { warmup: 10, samples: opts.streamSamples });
  }
  for (const name of TARGETS) {
    const s = streams[name];
    const minReads = Math.min(...s.map((t) => t.reads));
    checks.push({
      name: `${name}: streamed chunks arrive separately`,
      ok: minReads > 1 && s.every((t) => t.status === 200),
      detail: `fewest data events in one response: ${minReads}`,
    });
  }
  const keywayMemEnd = memoryMiB(keyway.proc.child.pid);

  // ---- figures ------------------------------------------------------------------------------------------
  const loadOut = Object.fromEntries(
    TARGETS.map((name) => {
      const r = load[name];
      return [
        name,
        {
          rps: round(r.rps, 1),
          p50Ms: r.p50Ms,
          p90Ms: r.p90Ms,
          p99Ms: r.p99Ms,
          maxMs: r.maxMs,
          meanMs: round(r.meanMs, 2),
          requests: r.requests,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          upstreamSaw: r.upstreamSaw,
          gatewayCpuUsPerReq: r.gatewayCpuUsPerReq,
          upstreamCpuUsPerReq: r.upstreamCpuUsPerReq,
          loadGenCpuSec: round(r.loadGenCpuSec, 2),
          otherCpuSec: round(r.otherCpuSec, 2),
          helpersCpuUsPerReq: r.helpersCpuUsPerReq,
          ...(r.helpersCpuUsPerReqBy ? { helpersCpuUsPerReqBy: r.helpersCpuUsPerReqBy } : {}),
        },
      ];
    }),
  ) as Report['load'];
  const lat = Object.fromEntries(
    TARGETS.map((name) => {
      const s = summarize(oneConn[name].map((t) => t.totalMs));
      return [
        name,
        {
          samples: s.count,
          p50Ms: round(s.p50),
          p90Ms: round(s.p90),
          p99Ms: round(s.p99),
          meanMs: round(s.mean),
        },
      ];
    }),
  ) as Report['oneConnection'];
  const streamOut = Object.fromEntries(
    TARGETS.map((name) => {
      const s = streams[name];
      const fb = summarize(s.map((t) => t.firstByteMs));
      const hd = summarize(s.map((t) => t.headersMs));
      const total = summarize(s.map((t) => t.totalMs));
      const reads = summarize(s.map((t) => t.reads));
      return [
        name,
        {
          samples: s.length,
          headersP50Ms: round(hd.p50),
          firstByteP50Ms: round(fb.p50),
          firstByteP99Ms: round(fb.p99),
          totalP50Ms: round(total.p50),
          totalP99Ms: round(total.p99),
          dataEventsMin: reads.min,
          dataEventsP50: reads.p50,
          sseEvents: s[0]?.sseEvents ?? 0,
        },
      ];
    }),
  ) as Report['stream'];

  const fbP50 = (name: TargetName): number => summarize(streams[name].map((t) => t.firstByteMs)).p50;
  const latP50 = (name: TargetName): number => summarize(oneConn[name].map((t) => t.totalMs)).p50;
  const cpu = cpus();
  return {
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      platform: `${platform()} ${arch()}`,
      node: process.version,
      loadAvgAtStart: loadavg().map((v) => round(v, 2)),
    },
    config: {
      connections: opts.connections,
      warmupSec: opts.warmupSec,
      durationSec: opts.durationSec,
      latencySec: opts.latencySec,
      streamSamples: opts.streamSamples,
      streamDelayMs: opts.streamDelayMs,
      streamChunks: opts.streamChunks,
      bodyBytes: jsonBody.length,
      streamBodyBytes: streamBody.length,
      bareMode: opts.bareMode,
      quietWaitSec: opts.quietWaitSec,
      rounds: opts.rounds,
      autocannon: versionOf('autocannon'),
      quick: opts.quick,
    },
    load: loadOut,
    ratios: {
      keywayOverBareRps: round(ratio(load.keyway.rps, load.bare.rps)),
      distributedOverKeywayRps: round(ratio(load.distributed.rps, load.keyway.rps)),
      bareOverDirectRps: round(ratio(load.bare.rps, load.direct.rps)),
      keywayOverDirectRps: round(ratio(load.keyway.rps, load.direct.rps)),
      keywayOverBareP50: round(ratio(load.keyway.p50Ms, load.bare.p50Ms)),
      keywayOverBareP99: round(ratio(load.keyway.p99Ms, load.bare.p99Ms)),
      bareOverDirectP50: round(ratio(load.bare.p50Ms, load.direct.p50Ms)),
    },
    rounds: {
      rps: Object.fromEntries(
        TARGETS.map((t) => [t, runs[t].map((r) => round(r.rps, 1))]),
      ) as Report['rounds']['rps'],
      keywayOverBare: runs.keyway.map((k, i) => round(ratio(k.rps, runs.bare[i]?.rps ?? Number.NaN))),
      distributedOverKeyway: runs.distributed.map((d, i) =>
        round(ratio(d.rps, runs.keyway[i]?.rps ?? Number.NaN)),
      ),
    },
    oneConnection: lat,
    oneConnectionAddedP50Ms: {
      keywayOverDirect: round(latP50('keyway') - latP50('direct')),
      keywayOverBare: round(latP50('keyway') - latP50('bare')),
      bareOverDirect: round(latP50('bare') - latP50('direct')),
    },
    stream: streamOut,
    streamAddedFirstByteP50Ms: {
      keywayOverDirect: round(fbP50('keyway') - fbP50('direct')),
      keywayOverBare: round(fbP50('keyway') - fbP50('bare')),
      bareOverDirect: round(fbP50('bare') - fbP50('direct')),
    },
    keywayMemory: {
      rssAfterLoadMiB: round(keywayMemAfterLoad.rss, 1),
      peakRssMiB: round(Math.max(keywayMemAfterLoad.peak, keywayMemEnd.peak), 1),
      rssAtEndMiB: round(keywayMemEnd.rss, 1),
    },
    checks,
    finishedAt: new Date().toISOString(),
    elapsedSec: round((Date.now() - started) / 1000, 1),
  };
}

async function main(): Promise<void> {
  let opts: BenchOptions | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  installSignalHandlers();
  let report: Report;
  try {
    report = await run(opts);
  } finally {
    await shutdownAll();
  }
  const out = resolve(opts.out ?? resolve(benchDir, 'results', 'latest.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderReport(report));
  process.stdout.write(`\nJSON: ${out}\n`);
  if (report.checks.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch(async (e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  await shutdownAll(1000);
  process.exit(1);
});
