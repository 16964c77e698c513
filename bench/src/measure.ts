/**
 * One measured wrk run against a target, with the CPU bookkeeping around it: the target's own process, the bench
 * upstream, the distributed target's helpers (worker, PostgreSQL, Redis, control plane, NATS — on the same two
 * cores here) and whatever else the machine did meanwhile (noise).
 */
import { runLoad, type LoadResult, type LoadSpec, type Wrk } from './load';
import { cpuSeconds, machineBusySeconds, pidsNamed } from './procs';
import { round } from './stats';
import type { RunningTarget, Upstream } from './targets';

export const HELPERS = ['worker', 'postgres', 'redis', 'controlPlane', 'nats'] as const;
export type HelperName = (typeof HELPERS)[number];
type HelperCpu = Record<HelperName, Map<number, number>>;

export type LoadRun = LoadResult & {
  upstreamSaw: number;
  upstreamKeys: Record<string, number>;
  /** The target's own process; for direct, null. */
  gatewayCpuUsPerReq: number | null;
  upstreamCpuUsPerReq: number | null;
  loadGenCpuUsPerReq: number | null;
  /** Busy CPU seconds of everything outside the benchmark during the run. */
  otherCpuSec: number;
  helpersCpuUsPerReq: number | null;
  helpersCpuUsPerReqBy: Record<HelperName, number | null> | null;
};

interface UpstreamStats {
  total: number;
  aborted: number;
  keys: Record<string, number>;
}

/** The bench upstream's request counters since the last reset (or resets them). */
export async function upstreamStats(upstream: Upstream, reset = false): Promise<UpstreamStats> {
  const res = await fetch(`${upstream.control}/${reset ? 'reset' : 'stats'}`, {
    method: reset ? 'POST' : 'GET',
  });
  return (await res.json()) as UpstreamStats;
}

/**
 * Waits (up to `maxMs`) until the upstream's request count stays the same for `stillMs`: a gateway still works
 * through requests it read before the previous wrk run closed its connections, and those must not be counted as
 * the next target's (they carry another target's keys).
 */
export async function waitUpstreamIdle(upstream: Upstream, stillMs = 250, maxMs = 10_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = (await upstreamStats(upstream)).total;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, stillMs));
    const now = (await upstreamStats(upstream)).total;
    if (now === last) return;
    last = now;
  }
}

/** Waits (up to `maxSec`) until the machine's busy CPU over 1 s is under a quarter of a core. */
export async function waitForQuiet(maxSec: number, log: (m: string) => void): Promise<void> {
  const until = Date.now() + maxSec * 1000;
  while (Date.now() < until) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    if (!(machineBusySeconds() - before >= 0.25)) return; // NaN (no /proc) counts as quiet
  }
  log(`machine still busy after ${maxSec} s; measuring anyway`);
}

// Processes are listed before and after a run: one started during it (a PostgreSQL backend for a new pool
// connection) counts whole.
function readHelpers(t: RunningTarget): HelperCpu | null {
  if (!t.helpers) return null;
  const read = (pids: number[]) => new Map(pids.filter((p) => p > 0).map((p) => [p, cpuSeconds(p)]));
  return {
    worker: read([t.helpers.worker?.child.pid ?? 0]),
    postgres: read(pidsNamed(['postgres'])),
    redis: read(pidsNamed(['redis-server'])),
    controlPlane: read([t.helpers.controlPlane?.child.pid ?? 0]),
    nats: read(pidsNamed(['nats-server'])),
  };
}

function helperDelta(a: HelperCpu, b: HelperCpu): Record<HelperName, number> {
  const out = {} as Record<HelperName, number>;
  for (const k of HELPERS) {
    let sum = 0;
    for (const [pid, after] of b[k]) {
      const before = a[k].get(pid) ?? 0;
      if (Number.isFinite(after) && Number.isFinite(before)) sum += after - before;
    }
    out[k] = sum;
  }
  return out;
}

/** When target `t`'s process has died: how, and the end of its output (for the error that stops the run). */
function deathNote(t: RunningTarget): string {
  const child = t.proc?.child;
  if (!child || (child.exitCode === null && child.signalCode === null)) return '';
  const how = child.signalCode
    ? `signal ${child.signalCode}`
    : child.exitCode === 0
      ? 'code 0 (a graceful stop: another process sent it SIGTERM or SIGINT, e.g. a `pkill -f …/dist/main.js`)'
      : `code ${String(child.exitCode)}`;
  const tail = (t.proc?.lines ?? []).slice(-20).join('\n');
  return `\n${t.name}'s process exited with ${how}; its last output:\n${tail}`;
}

/** Runs `spec` against target `t` once; counts what the upstream saw and who spent how much CPU. */
export async function measureLoad(
  wrk: Wrk & { script: string },
  upstream: Upstream,
  t: RunningTarget,
  spec: LoadSpec,
): Promise<LoadRun> {
  await waitUpstreamIdle(upstream);
  await upstreamStats(upstream, true);
  const gwPid = t.proc?.child.pid;
  const upPid = upstream.proc.child.pid;
  const self0 = process.cpuUsage();
  const before = {
    gw: cpuSeconds(gwPid),
    up: cpuSeconds(upPid),
    helpers: readHelpers(t),
    all: machineBusySeconds(),
  };
  const result = await runLoad(wrk, spec).catch((e: unknown) => {
    throw new Error(`${t.name}: ${(e as Error).message}${deathNote(t)}`, { cause: e });
  });
  const after = {
    gw: cpuSeconds(gwPid),
    up: cpuSeconds(upPid),
    helpers: readHelpers(t),
    all: machineBusySeconds(),
  };
  const self = process.cpuUsage(self0);
  const helperSec = before.helpers && after.helpers ? helperDelta(before.helpers, after.helpers) : null;
  const helpersTotal = helperSec ? HELPERS.reduce((n, k) => n + helperSec[k], 0) : 0;
  const gwSec = gwPid === undefined ? 0 : after.gw - before.gw;
  // everything the benchmark's own processes used; the rest of the machine's busy time is someone else's
  const ours =
    (Number.isFinite(result.loadGenCpuSec) ? result.loadGenCpuSec : 0) +
    (after.up - before.up) +
    gwSec +
    helpersTotal +
    (self.user + self.system) / 1e6;
  const seen = await upstreamStats(upstream);
  const perReq = (sec: number): number | null => round((sec * 1e6) / Math.max(result.requests, 1), 1);
  return {
    ...result,
    upstreamSaw: seen.total,
    upstreamKeys: seen.keys,
    gatewayCpuUsPerReq: gwPid === undefined ? null : perReq(gwSec),
    upstreamCpuUsPerReq: perReq(after.up - before.up),
    loadGenCpuUsPerReq: perReq(result.loadGenCpuSec),
    otherCpuSec: after.all - before.all - ours,
    helpersCpuUsPerReq: helperSec ? perReq(helpersTotal) : null,
    helpersCpuUsPerReqBy: helperSec
      ? (Object.fromEntries(HELPERS.map((k) => [k, perReq(helperSec[k])])) as Record<
          HelperName,
          number | null
        >)
      : null,
  };
}
