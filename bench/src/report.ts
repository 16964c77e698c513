/** The result document (bench/results/latest.json) and its text rendering. */
import type { TargetName } from './args';
import { fmt, int, type Num } from './format';
import { goalsMarkdown, pairedTag, summaryMarkdown } from './summary';

export type { Num } from './format';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface TargetFigures {
  name: TargetName;
  /** The target's median load round (by req/s). */
  load: {
    rps: Num;
    p50Ms: Num;
    p90Ms: Num;
    p99Ms: Num;
    maxMs: Num;
    requests: number;
    non2xx: number;
    errors: number;
    timeouts: number;
    upstreamSaw: number;
    /** The target's own process (the gateway); null for direct. */
    gatewayCpuUsPerReq: Num;
    upstreamCpuUsPerReq: Num;
    loadGenCpuUsPerReq: Num;
    /** Busy CPU seconds of everything outside the benchmark during the run (noise indicator). */
    otherCpuSec: Num;
    /** Distributed: CPU of its worker, PostgreSQL, Redis, control plane and NATS per request, and each's. */
    helpersCpuUsPerReq: Num;
    helpersCpuUsPerReqBy: Record<string, Num> | null;
  };
  roundsRps: Num[];
  /** req/s over bare's; null when the headroom rule refused ratios. */
  vsBare: Num;
  /** req/s over standalone's (Keyway targets); null when refused, or for direct and bare. */
  vsStandalone: Num;
  /** Gateway CPU per request over bare's. */
  cpuVsBare: Num;
  /** 1-connection wrk runs: the round with the median p50. */
  oneConnection: { p50Ms: Num; p99Ms: Num; roundsP50Ms: Num[]; addedOverBareMs: Num } | null;
  stream: {
    samples: number;
    headersP50Ms: Num;
    firstByteP50Ms: Num;
    firstByteP99Ms: Num;
    totalP50Ms: Num;
    dataEventsMin: number;
    sseEvents: number;
    /** Every streamed answer was 200 and came in at least as many reads as it had SSE events. */
    everyEventOwnChunk: boolean;
    addedFirstByteOverBareMs: Num;
  };
  /** RSS right after the load rounds, right after the soak run (null without one), peak over the run. */
  memory: { rssAfterLoadMiB: Num; rssAfterSoakMiB: Num; peakRssMiB: Num } | null;
}

/** One scale target's back-to-back pairs with standalone: the per-pair ratios (target / standalone) and their medians. */
export interface PairedFigures {
  pairs: number;
  pairDurationSec: number;
  /** req/s, target / standalone, per pair. */
  rpsRatios: Num[];
  /** Gateway CPU µs per request, target / standalone, per pair. */
  cpuRatios: Num[];
  medianRpsRatio: Num;
  medianCpuRatio: Num;
}

export interface Report {
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: Num;
    platform: string;
    node: string;
    loadAvgAtStart: Num[];
  };
  config: {
    targets: TargetName[];
    connections: number;
    threads: number;
    warmupSec: number;
    durationSec: number;
    rounds: number;
    latencySec: number;
    streamSamples: number;
    streamDelayMs: number;
    streamChunks: number;
    bodyBytes: number;
    bareMode: string;
    quietWaitSec: number;
    soakSec: number;
    /** Back-to-back pairs of standalone and each scale target (0: none) and the seconds of each run of one. */
    pairs: number;
    pairDurationSec: number;
    wrk: string;
    /** Versions the bare pass-through runs on. */
    bare: string;
    quick: boolean;
  };
  targets: TargetFigures[];
  /** The "direct ≥ 2× fastest gateway" rule. */
  headroom: {
    ok: boolean;
    directRps: Num;
    fastest: { name: string; rps: Num } | null;
    neededRps: Num;
    reason: string;
  };
  /**
   * Each scale target's pairs with standalone, by name; null when there were none (no pairs asked for, or no
   * standalone). Listed even when the headroom rule refused ratios, but then not used for any goal.
   */
  paired: Partial<Record<TargetName, PairedFigures>> | null;
  /**
   * Null when the headroom rule refused them. The scale targets' ratios to standalone are the median paired ratio
   * when the target had pairs (see `paired`), else from the median rounds.
   */
  ratios: {
    standaloneOverBare: Num;
    standaloneNologOverBare: Num;
    distributedOverStandalone: Num;
    standalone100kOverStandalone: Num;
    standalone200groupsOverStandalone: Num;
    standaloneAccessKeyOverStandalone: Num;
    standalonePoolOverStandalone: Num;
    /** Gateway CPU per request, translated (Anthropic caller on an OpenAI group) / native standalone. */
    standaloneTranslatedCpuOverStandalone: Num;
    /** Gateway CPU per request, tracing on / off (standalone, logging all). */
    standaloneTracedCpuOverStandalone: Num;
    distributedGatewayCpuOverBare: Num;
  } | null;
  /** Ratios within each round (the same pass), e.g. `standalone/bare`; null when refused. */
  roundRatios: Record<string, Num[]> | null;
  checks: Check[];
  finishedAt: string;
  elapsedSec: Num;
}

/** A left-aligned first column, right-aligned others. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function method(r: Report): string[] {
  const c = r.config;
  const m = r.machine;
  return [
    'How measured:',
    `  machine   ${m.cpus} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, ${m.platform}, Node ${m.node}, load avg at start ${m.loadAvgAtStart.map((v) => fmt(v)).join(' ')}`,
    `  load      wrk ${c.wrk}, ${c.threads} threads, ${c.connections} connections, POST ${c.bodyBytes}-byte chat JSON; ${c.warmupSec} s warm-up, then ${c.rounds} round(s) of`,
    `            ${c.durationSec} s per target in rotating order (median round reported), each after up to ${c.quietWaitSec} s waiting for an idle machine`,
    r.paired
      ? `  pairs     then ${c.pairs} pairs of ${c.pairDurationSec} s runs, standalone and each scale target back to back (order alternating): scale goals use the median per-pair ratio`
      : `  pairs     none: scale goals use the median rounds`,
    `  rule      direct (wrk straight to the bench upstream) must reach 2x the fastest gateway, or no ratio is reported`,
    `  1-conn    wrk, 1 thread, 1 connection, ${c.latencySec} s per target and round (median round's p50)`,
    `  stream    ${c.streamSamples} sequential stream:true requests per target on one keep-alive node:http connection;`,
    `            the upstream sends ${c.streamChunks} deltas + role/finish/[DONE] events ${c.streamDelayMs} ms apart`,
    `  CPU       /proc per process: gateway (and distributed's worker, PostgreSQL, Redis, control plane, NATS) per request`,
    `  bare      ${c.bare} Pool pass-through, ${c.bareMode} mode`,
    `  upstream  node:http with prebuilt answers (bench/src/upstream-proc.ts); Keyway groups have 3 keys, standalone-100k`,
    `            100,000, standalone-200groups 200 groups of 3 keys with the load on the last created`,
    c.soakSec > 0
      ? `  memory    RSS after the rounds; standalone and distributed: after ${c.soakSec} s more at ${c.connections} connections (soak)`
      : `  memory    RSS right after each target's load rounds (no soak)`,
  ];
}

function loadDetail(r: Report): string[] {
  const out = [
    table(
      [
        'target',
        'req/s',
        'p50',
        'p90',
        'p99',
        'non-2xx',
        'errors',
        'upstream saw',
        'gw us/req',
        'upstream us/req',
        'wrk us/req',
        'other CPU s',
      ],
      r.targets.map((t) => {
        const l = t.load;
        return [
          t.name,
          int(l.rps),
          fmt(l.p50Ms),
          fmt(l.p90Ms),
          fmt(l.p99Ms),
          String(l.non2xx),
          String(l.errors + l.timeouts),
          String(l.upstreamSaw),
          fmt(l.gatewayCpuUsPerReq, 0),
          fmt(l.upstreamCpuUsPerReq, 0),
          fmt(l.loadGenCpuUsPerReq, 0),
          fmt(l.otherCpuSec, 1),
        ];
      }),
    ),
    `rounds, req/s: ${r.targets.map((t) => `${t.name} ${t.roundsRps.map(int).join('/')}`).join(', ')}`,
  ];
  if (r.roundRatios) {
    out.push(
      `rounds, ratios: ${Object.entries(r.roundRatios)
        .map(([k, v]) => `${k} ${v.map((x) => fmt(x, 3)).join('/')}`)
        .join(', ')}`,
    );
  }
  const dist = r.targets.find((t) => t.name === 'distributed')?.load.helpersCpuUsPerReqBy;
  if (dist) {
    out.push(
      `distributed's helpers, CPU us/req: ${Object.entries(dist)
        .map(([k, v]) => `${k} ${fmt(v, 1)}`)
        .join(', ')}`,
    );
  }
  const disturbed = r.targets.filter((t) => (t.load.otherCpuSec ?? 0) > 1).map((t) => t.name);
  if (disturbed.length > 0)
    out.push(
      `note: other processes used > 1 CPU s during ${disturbed.join(', ')}: those figures are disturbed`,
    );
  return out;
}

/** The whole report as text: method, detail tables, checks, then the summary table last. */
export function renderReport(r: Report): string {
  const c = r.config;
  const out: string[] = [
    '',
    'Keyway benchmark (one run; compare ratios from the same run, not absolute figures)',
  ];
  out.push(...method(r), '');
  out.push(
    `Load: ${c.connections} connections, ${c.durationSec} s; each target's median of ${c.rounds} round(s)`,
  );
  out.push(...loadDetail(r), '');
  out.push(`Streaming (${c.streamSamples} sequential requests, ms)`);
  out.push(
    table(
      [
        'target',
        'headers p50',
        'first byte p50',
        'first byte p99',
        'total p50',
        'data events min',
        'SSE events',
      ],
      r.targets.map((t) => [
        t.name,
        fmt(t.stream.headersP50Ms, 3),
        fmt(t.stream.firstByteP50Ms, 3),
        fmt(t.stream.firstByteP99Ms, 3),
        fmt(t.stream.totalP50Ms, 3),
        String(t.stream.dataEventsMin),
        String(t.stream.sseEvents),
      ]),
    ),
    '',
  );
  out.push('Checks');
  for (const check of r.checks) out.push(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name} (${check.detail})`);
  out.push('');
  if (r.ratios) {
    const x = r.ratios;
    out.push(
      `Ratios (medians): standalone/bare ${fmt(x.standaloneOverBare, 3)}, standalone logging off/bare ${fmt(x.standaloneNologOverBare, 3)}, ` +
        `distributed/standalone ${fmt(x.distributedOverStandalone, 3)}, distributed gateway CPU/bare CPU ${fmt(x.distributedGatewayCpuOverBare, 3)}, ` +
        `100,000 keys/standalone ${fmt(x.standalone100kOverStandalone, 3)}${pairedTag(r, 'standalone-100k', 'rps')}, ` +
        `200 groups/standalone ${fmt(x.standalone200groupsOverStandalone, 3)}${pairedTag(r, 'standalone-200groups', 'rps')}`,
    );
  } else {
    out.push(`RATIOS REFUSED: ${r.headroom.reason}`);
  }
  out.push(`\nfinished ${r.finishedAt} in ${fmt(r.elapsedSec, 1)} s`, '');
  out.push(...goalsMarkdown(r), '', ...summaryMarkdown(r));
  return `${out.join('\n')}\n`;
}
