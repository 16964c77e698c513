/** From the raw runs of one benchmark to the figures of the report: medians, ratios, deltas, checks. */
import { SCALE_TARGETS, type TargetName } from './args';
import type { Timing } from './client';
import { headroomVerdict } from './headroom';
import type { LoadResult } from './load';
import type { LoadRun } from './measure';
import type { Check, Num, PairedFigures, Report, TargetFigures } from './report';
import { median, medianBy, ratio, round, summarize } from './stats';
import type { RunningTarget } from './targets';

/** Everything measured, per target. */
export interface Collected {
  loads: Map<TargetName, LoadRun[]>;
  oneConn: Map<TargetName, LoadResult[]>;
  streams: Map<TargetName, Timing[]>;
  /**
   * RSS in MiB right after each measured load run (largest kept), right after the soak run (when there was one),
   * and the process's peak RSS at the end.
   */
  memory: Map<TargetName, { rssAfterLoadMiB: number; rssAfterSoakMiB?: number; peakRssMiB: number }>;
  /** The soak run of the targets that had one. */
  soaks: Map<TargetName, LoadRun>;
  /** Each scale target's back-to-back pairs with standalone (none when the paired phase did not run). */
  pairs: Map<TargetName, PairRun[]>;
  /** Load seconds asked for each run of a pair. */
  pairDurationSec: number;
}

/** One pair: standalone and a scale target loaded back to back (in either order). */
export interface PairRun {
  standalone: LoadRun;
  target: LoadRun;
}

/** Per-pair ratios target / standalone (req/s and gateway CPU per request) and their medians. */
export function pairedFigures(pairs: readonly PairRun[], pairDurationSec: number): PairedFigures {
  const rps = pairs.map((p) => ratio(p.target.rps, p.standalone.rps));
  const cpu = pairs.map((p) =>
    ratio(p.target.gatewayCpuUsPerReq ?? Number.NaN, p.standalone.gatewayCpuUsPerReq ?? Number.NaN),
  );
  return {
    pairs: pairs.length,
    pairDurationSec,
    rpsRatios: rps.map((v) => round(v)),
    cpuRatios: cpu.map((v) => round(v)),
    medianRpsRatio: round(median(rps)),
    medianCpuRatio: round(median(cpu)),
  };
}

/** Whether every streamed answer was 200 and arrived in at least as many reads as it had SSE events. */
/**
 * Whether nothing was held back: every SSE event came in its own read. A translated stream may answer one upstream
 * event with several of its own (Anthropic's `message_start` + `content_block_start` for OpenAI's role chunk),
 * written together as they are made: there each UPSTREAM event must come in its own read (`upstreamEvents`).
 */
function everyEventOwnChunk(s: readonly Timing[], upstreamEvents?: number): boolean {
  return (
    s.length > 0 &&
    s.every((x) => x.status === 200 && x.reads >= Math.min(x.sseEvents, upstreamEvents ?? x.sseEvents))
  );
}

function loadFigures(r: LoadRun): TargetFigures['load'] {
  return {
    rps: round(r.rps, 1),
    p50Ms: round(r.p50Ms),
    p90Ms: round(r.p90Ms),
    p99Ms: round(r.p99Ms),
    maxMs: round(r.maxMs),
    requests: r.requests,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    upstreamSaw: r.upstreamSaw,
    gatewayCpuUsPerReq: r.gatewayCpuUsPerReq,
    upstreamCpuUsPerReq: r.upstreamCpuUsPerReq,
    loadGenCpuUsPerReq: r.loadGenCpuUsPerReq,
    otherCpuSec: round(r.otherCpuSec, 2),
    helpersCpuUsPerReq: r.helpersCpuUsPerReq,
    helpersCpuUsPerReqBy: r.helpersCpuUsPerReqBy,
  };
}

function streamFigures(
  s: Timing[],
  upstreamEvents?: number,
): Omit<TargetFigures['stream'], 'addedFirstByteOverBareMs'> {
  const reads = summarize(s.map((t) => t.reads));
  return {
    samples: s.length,
    headersP50Ms: round(summarize(s.map((t) => t.headersMs)).p50),
    firstByteP50Ms: round(summarize(s.map((t) => t.firstByteMs)).p50),
    firstByteP99Ms: round(summarize(s.map((t) => t.firstByteMs)).p99),
    totalP50Ms: round(summarize(s.map((t) => t.totalMs)).p50),
    dataEventsMin: reads.min,
    sseEvents: s[0]?.sseEvents ?? 0,
    everyEventOwnChunk: everyEventOwnChunk(s, upstreamEvents),
  };
}

/** Checks on what the runs saw: no failures, pooled keys only, every SSE event its own chunk. */
function runChecks(targets: RunningTarget[], c: Collected): Check[] {
  const checks: Check[] = [];
  const pairRuns = (n: TargetName): LoadRun[] =>
    n === 'standalone'
      ? [...c.pairs.values()].flatMap((ps) => ps.map((p) => p.standalone))
      : (c.pairs.get(n) ?? []).map((p) => p.target);
  for (const t of targets) {
    const runs = [...(c.loads.get(t.name) ?? []), ...pairRuns(t.name)];
    const soak = c.soaks.get(t.name);
    const all = [...runs, ...(c.oneConn.get(t.name) ?? []), ...(soak ? [soak] : [])];
    const sum = (f: (r: LoadResult) => number) => all.reduce((n, r) => n + f(r), 0);
    checks.push({
      name: `${t.name}: no failed requests under load`,
      ok: sum((r) => r.non2xx + r.errors + r.timeouts) === 0 && sum((r) => r.requests) > 0,
      detail: `${sum((r) => r.requests)} requests, non-2xx ${sum((r) => r.non2xx)}, socket errors ${sum((r) => r.errors)}, timeouts ${sum((r) => r.timeouts)}`,
    });
    if (t.upstreamKeys) {
      const pooled = new Set(t.upstreamKeys);
      const bad = runs.filter((r) => {
        const used = Object.keys(r.upstreamKeys);
        return (
          used.length === 0 || !used.every((k) => pooled.has(k)) || r.upstreamSaw < r.requests - r.non2xx
        );
      });
      checks.push({
        name: `${t.name}: load reached the upstream with pooled keys only`,
        ok: bad.length === 0,
        detail: runs
          .map(
            (r) =>
              `${r.upstreamSaw} upstream requests for ${r.requests} answered, ${Object.keys(r.upstreamKeys).length} of ${pooled.size} keys used`,
          )
          .join('; '),
      });
    }
    const s = c.streams.get(t.name) ?? [];
    const fewest = Math.min(...s.map((x) => x.reads));
    const events = Math.min(...s.map((x) => x.sseEvents));
    checks.push({
      name: `${t.name}: every streamed ${t.upstreamEvents ? 'upstream ' : ''}event arrives as its own chunk`,
      ok: everyEventOwnChunk(s, t.upstreamEvents),
      detail: `fewest data events in one response ${fewest}, SSE events ${events}${t.upstreamEvents ? `, upstream events ${t.upstreamEvents}` : ''}`,
    });
  }
  return checks;
}

/** Figures, ratios (unless the headroom rule refuses them) and checks of one run. */
export function buildFigures(
  targets: RunningTarget[],
  c: Collected,
): Pick<Report, 'targets' | 'headroom' | 'paired' | 'ratios' | 'roundRatios' | 'checks'> {
  const names = targets.map((t) => t.name);
  const medianRound = new Map(names.map((n) => [n, medianBy(c.loads.get(n) ?? [], (r) => r.rps)]));
  const oneConnMedian = new Map(
    names
      .filter((n) => (c.oneConn.get(n) ?? []).length > 0)
      .map((n) => [n, medianBy(c.oneConn.get(n) ?? [], (r) => r.p50Ms)]),
  );
  const rps = (n: TargetName): number => medianRound.get(n)?.rps ?? Number.NaN;
  const verdict = headroomVerdict(
    rps('direct'),
    Object.fromEntries(names.filter((n) => n !== 'direct').map((n) => [n, rps(n)])),
  );
  const bareLat = oneConnMedian.get('bare')?.p50Ms ?? Number.NaN;
  const bareFb = summarize((c.streams.get('bare') ?? []).map((t) => t.firstByteMs)).p50;
  const bareCpu = medianRound.get('bare')?.gatewayCpuUsPerReq ?? null;

  const figures: TargetFigures[] = names.map((name) => {
    const m = medianRound.get(name);
    if (!m) throw new Error(`no load run for ${name}`);
    const one = oneConnMedian.get(name);
    const stream = streamFigures(
      c.streams.get(name) ?? [],
      targets.find((t) => t.name === name)?.upstreamEvents,
    );
    const mem = c.memory.get(name);
    return {
      name,
      load: loadFigures(m),
      roundsRps: (c.loads.get(name) ?? []).map((r) => round(r.rps, 1)),
      vsBare: verdict.ok ? round(ratio(m.rps, rps('bare'))) : null,
      vsStandalone:
        verdict.ok && name !== 'direct' && name !== 'bare' ? round(ratio(m.rps, rps('standalone'))) : null,
      cpuVsBare: round(ratio(m.gatewayCpuUsPerReq ?? Number.NaN, bareCpu ?? Number.NaN)),
      oneConnection: one
        ? {
            p50Ms: round(one.p50Ms),
            p99Ms: round(one.p99Ms),
            roundsP50Ms: (c.oneConn.get(name) ?? []).map((r) => round(r.p50Ms)),
            addedOverBareMs: round(one.p50Ms - bareLat),
          }
        : null,
      stream: { ...stream, addedFirstByteOverBareMs: round((stream.firstByteP50Ms ?? Number.NaN) - bareFb) },
      memory: mem
        ? {
            rssAfterLoadMiB: round(mem.rssAfterLoadMiB, 1),
            rssAfterSoakMiB: round(mem.rssAfterSoakMiB ?? Number.NaN, 1),
            peakRssMiB: round(mem.peakRssMiB, 1),
          }
        : null,
    };
  });

  const perRound = (a: TargetName, b: TargetName): Num[] =>
    (c.loads.get(a) ?? []).map((r, i) => round(ratio(r.rps, c.loads.get(b)?.[i]?.rps ?? Number.NaN)));
  const has = (n: TargetName) => names.includes(n);
  const pairedScale = SCALE_TARGETS.filter(
    (n) => has(n) && has('standalone') && (c.pairs.get(n) ?? []).length > 0,
  );
  const paired: Report['paired'] =
    pairedScale.length > 0
      ? Object.fromEntries(
          pairedScale.map((n) => [n, pairedFigures(c.pairs.get(n) ?? [], c.pairDurationSec)]),
        )
      : null;
  /**
   * A scale target's req/s over standalone's: the median paired ratio (pairs back to back are far steadier than two
   * median rounds minutes apart), else the median rounds'.
   */
  const rpsOverStandalone = (n: TargetName): Num | null =>
    has(n) ? (paired?.[n]?.medianRpsRatio ?? round(ratio(rps(n), rps('standalone')))) : null;
  /** A feature target's gateway CPU per request over standalone's own: the median paired ratio, else the median rounds'. */
  const cpuOverStandalone = (n: TargetName): Num | null =>
    has(n) && has('standalone')
      ? (paired?.[n]?.medianCpuRatio ??
        round(
          ratio(
            medianRound.get(n)?.gatewayCpuUsPerReq ?? Number.NaN,
            medianRound.get('standalone')?.gatewayCpuUsPerReq ?? Number.NaN,
          ),
        ))
      : null;
  const ratios: Report['ratios'] = verdict.ok
    ? {
        standaloneOverBare: has('standalone') ? round(ratio(rps('standalone'), rps('bare'))) : null,
        standaloneNologOverBare: has('standalone-nolog')
          ? round(ratio(rps('standalone-nolog'), rps('bare')))
          : null,
        distributedOverStandalone:
          has('distributed') && has('standalone')
            ? round(ratio(rps('distributed'), rps('standalone')))
            : null,
        standalone100kOverStandalone: rpsOverStandalone('standalone-100k'),
        standalone200groupsOverStandalone: rpsOverStandalone('standalone-200groups'),
        standaloneAccessKeyOverStandalone: rpsOverStandalone('standalone-accesskey'),
        standalonePoolOverStandalone: rpsOverStandalone('standalone-pool'),
        standaloneTranslatedCpuOverStandalone: cpuOverStandalone('standalone-translated'),
        standaloneTracedCpuOverStandalone: cpuOverStandalone('standalone-traced'),
        distributedGatewayCpuOverBare: has('distributed')
          ? round(
              ratio(medianRound.get('distributed')?.gatewayCpuUsPerReq ?? Number.NaN, bareCpu ?? Number.NaN),
            )
          : null,
      }
    : null;
  const roundRatios: Report['roundRatios'] = verdict.ok
    ? {
        ...Object.fromEntries(
          names.filter((n) => n !== 'direct' && n !== 'bare').map((n) => [`${n}/bare`, perRound(n, 'bare')]),
        ),
        ...Object.fromEntries(
          (['distributed', ...SCALE_TARGETS] as const)
            .filter((n) => has(n) && has('standalone'))
            .map((n) => [`${n}/standalone`, perRound(n, 'standalone')]),
        ),
      }
    : null;
  const headroomCheck: Check = {
    name: `method: direct run ≥ 2× the fastest gateway (load generator and bench upstream not the bottleneck)`,
    ok: verdict.ok,
    detail: verdict.reason,
  };
  return {
    targets: figures,
    headroom: {
      ok: verdict.ok,
      directRps: round(verdict.directRps, 1),
      fastest: verdict.fastest ? { name: verdict.fastest.name, rps: round(verdict.fastest.rps, 1) } : null,
      neededRps: round(verdict.needed, 1),
      reason: verdict.reason,
    },
    paired,
    ratios,
    roundRatios,
    checks: [headroomCheck, ...runChecks(targets, c)],
  };
}
