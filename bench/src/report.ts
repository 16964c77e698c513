/** The result document (bench/results/latest.json) and its text rendering. */

type Num = number | null;
type PerTarget<T> = Record<'direct' | 'bare' | 'keyway' | 'distributed', T>;

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
    connections: number;
    warmupSec: number;
    durationSec: number;
    latencySec: number;
    streamSamples: number;
    streamDelayMs: number;
    streamChunks: number;
    bodyBytes: number;
    streamBodyBytes: number;
    bareMode: string;
    quietWaitSec: number;
    rounds: number;
    autocannon: string;
    quick: boolean;
  };
  load: PerTarget<{
    rps: Num;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    maxMs: number;
    meanMs: Num;
    requests: number;
    non2xx: number;
    errors: number;
    timeouts: number;
    upstreamSaw: number;
    gatewayCpuUsPerReq: Num;
    upstreamCpuUsPerReq: Num;
    /** CPU seconds of the autocannon process (start-up included). */
    loadGenCpuSec: Num;
    /** Busy CPU seconds of everything outside the benchmark during the measured run (noise indicator). */
    otherCpuSec: Num;
    /** Distributed: CPU of its control plane, worker, PostgreSQL, Redis and NATS per request. */
    helpersCpuUsPerReq?: Num;
    /** …the same by process: worker, postgres, redis, controlPlane, nats. */
    helpersCpuUsPerReqBy?: Record<string, Num>;
  }>;
  ratios: {
    keywayOverBareRps: Num;
    distributedOverKeywayRps: Num;
    bareOverDirectRps: Num;
    keywayOverDirectRps: Num;
    keywayOverBareP50: Num;
    keywayOverBareP99: Num;
    bareOverDirectP50: Num;
  };
  /** Every load round: requests/s per target, and the two ratios within each round (same pass). */
  rounds: { rps: PerTarget<Num[]>; keywayOverBare: Num[]; distributedOverKeyway: Num[] };
  oneConnection: PerTarget<{ samples: number; p50Ms: Num; p90Ms: Num; p99Ms: Num; meanMs: Num }>;
  oneConnectionAddedP50Ms: { keywayOverDirect: Num; keywayOverBare: Num; bareOverDirect: Num };
  stream: PerTarget<{
    samples: number;
    headersP50Ms: Num;
    firstByteP50Ms: Num;
    firstByteP99Ms: Num;
    totalP50Ms: Num;
    totalP99Ms: Num;
    dataEventsMin: number;
    dataEventsP50: number;
    sseEvents: number;
  }>;
  streamAddedFirstByteP50Ms: { keywayOverDirect: Num; keywayOverBare: Num; bareOverDirect: Num };
  keywayMemory: { rssAfterLoadMiB: Num; peakRssMiB: Num; rssAtEndMiB: Num };
  checks: { name: string; ok: boolean; detail: string }[];
  finishedAt: string;
  elapsedSec: Num;
}

const TARGETS = ['direct', 'bare', 'keyway', 'distributed'] as const;

function fmt(value: Num | undefined, digits = 2): string {
  if (value === null || value === undefined) return 'n/a';
  return value.toFixed(digits);
}

function signed(value: Num, digits = 3): string {
  if (value === null) return 'n/a';
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

/** A left-aligned first column, right-aligned others. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderReport(r: Report): string {
  const c = r.config;
  const m = r.machine;
  const out: string[] = [];
  out.push('');
  out.push('Keyway benchmark (one run; compare ratios, not absolute figures)');
  out.push('How measured:');
  out.push(
    `  machine   ${m.cpus} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, ${m.platform}, Node ${m.node}, load avg at start ${m.loadAvgAtStart.map((v) => fmt(v)).join(' ')}`,
  );
  out.push(
    '  targets   direct = fake upstream (@keyway/testing) in its own process; bare = hono + @hono/node-server + undici Pool',
  );
  out.push(
    `            pass-through (${c.bareMode} mode); keyway = apps/standalone/dist/main.js (SQLite, 1 group, 20 keys, LOG_LEVEL=warn)`,
  );
  out.push(
    '            distributed = apps/gateway/dist/main.js (Redis key pool + NATS + BullMQ logs) with its control plane and worker on PostgreSQL',
  );
  out.push(
    `  load      autocannon ${c.autocannon} (API, own process), ${c.connections} connections, POST ${c.bodyBytes}-byte chat JSON (non-streaming),`,
  );
  out.push(
    `            ${c.warmupSec} s warm-up, then ${c.rounds} round(s) of ${c.durationSec} s per target, one target at a time in rotating order;`,
  );
  out.push(
    `            before each, up to ${c.quietWaitSec} s waiting for an idle machine; latency has 1 ms resolution`,
  );
  out.push(
    `  CPU       /proc: proxy and upstream CPU per request; "other CPU s" = busy CPU of processes outside the benchmark (noise)`,
  );
  out.push(
    `  1-conn    sequential keep-alive node:http requests for ${c.latencySec} s per target after 200 warm-up requests`,
  );
  out.push(
    `  stream    ${c.streamSamples} sequential stream:true requests per target (node:http, one keep-alive connection), upstream sends`,
  );
  out.push(
    `            ${c.streamChunks} content deltas + role/finish/[DONE] events ${c.streamDelayMs} ms apart; first byte = first body chunk`,
  );
  out.push('');

  out.push(
    `Load: ${c.connections} connections, ${c.durationSec} s; each target's median of ${c.rounds} round(s)`,
  );
  out.push(
    table(
      [
        'target',
        'req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'non-2xx',
        'errors',
        'upstream saw',
        'proxy CPU us/req',
        'upstream CPU us/req',
        'loadgen CPU s',
        'other CPU s',
        'cp+worker+pg+redis CPU us/req',
      ],
      TARGETS.map((t) => {
        const l = r.load[t];
        return [
          t,
          fmt(l.rps, 0),
          String(l.p50Ms),
          String(l.p90Ms),
          String(l.p99Ms),
          String(l.non2xx),
          String(l.errors + l.timeouts),
          String(l.upstreamSaw),
          fmt(l.gatewayCpuUsPerReq, 0),
          fmt(l.upstreamCpuUsPerReq, 0),
          fmt(l.loadGenCpuSec, 1),
          fmt(l.otherCpuSec, 1),
          fmt(l.helpersCpuUsPerReq ?? null, 0),
        ];
      }),
    ),
  );
  out.push(
    `ratios: keyway/bare req/s ${fmt(r.ratios.keywayOverBareRps, 3)} (p50 x${fmt(r.ratios.keywayOverBareP50)}, p99 x${fmt(r.ratios.keywayOverBareP99)}), ` +
      `bare/direct req/s ${fmt(r.ratios.bareOverDirectRps, 3)}, keyway/direct req/s ${fmt(r.ratios.keywayOverDirectRps, 3)}, ` +
      `distributed/keyway req/s ${fmt(r.ratios.distributedOverKeywayRps, 3)}`,
  );
  const by = r.load.distributed.helpersCpuUsPerReqBy;
  if (by) {
    out.push(
      `distributed's helpers, CPU us/req: ${Object.entries(by)
        .map(([k, v]) => `${k} ${fmt(v, 1)}`)
        .join(', ')}`,
    );
  }
  if (c.rounds > 1) {
    const list = (values: Num[]) => values.map((v) => fmt(v, 3)).join(', ');
    out.push(
      `rounds: req/s ${TARGETS.map((t) => `${t} ${r.rounds.rps[t].map((v) => fmt(v, 0)).join('/')}`).join(', ')}`,
    );
    out.push(
      `        keyway/bare ${list(r.rounds.keywayOverBare)}; distributed/keyway ${list(r.rounds.distributedOverKeyway)}`,
    );
  }
  const disturbed = TARGETS.filter((t) => (r.load[t].otherCpuSec ?? 0) > 1);
  if (disturbed.length > 0) {
    out.push(
      `note: other processes used > 1 CPU s during ${disturbed.join(', ')}: those figures are disturbed (see --quiet-wait)`,
    );
  }
  out.push('');

  out.push(`1 connection (sequential, ${c.latencySec} s)`);
  out.push(
    table(
      ['target', 'requests', 'p50 ms', 'p90 ms', 'p99 ms'],
      TARGETS.map((t) => {
        const l = r.oneConnection[t];
        return [t, String(l.samples), fmt(l.p50Ms, 3), fmt(l.p90Ms, 3), fmt(l.p99Ms, 3)];
      }),
    ),
  );
  const a = r.oneConnectionAddedP50Ms;
  out.push(
    `added p50: keyway over direct ${signed(a.keywayOverDirect)} ms, keyway over bare ${signed(a.keywayOverBare)} ms, bare over direct ${signed(a.bareOverDirect)} ms`,
  );
  out.push('');

  out.push(`Streaming (${c.streamSamples} sequential requests)`);
  out.push(
    table(
      [
        'target',
        'headers p50',
        'first byte p50',
        'first byte p99',
        'total p50',
        'total p99',
        'data events min/p50',
        'SSE events',
      ],
      TARGETS.map((t) => {
        const s = r.stream[t];
        return [
          t,
          fmt(s.headersP50Ms, 3),
          fmt(s.firstByteP50Ms, 3),
          fmt(s.firstByteP99Ms, 3),
          fmt(s.totalP50Ms, 3),
          fmt(s.totalP99Ms, 3),
          `${s.dataEventsMin}/${s.dataEventsP50}`,
          String(s.sseEvents),
        ];
      }),
    ),
  );
  const f = r.streamAddedFirstByteP50Ms;
  out.push(
    `(ms) added first-byte p50: keyway over direct ${signed(f.keywayOverDirect)} ms, keyway over bare ${signed(f.keywayOverBare)} ms, bare over direct ${signed(f.bareOverDirect)} ms`,
  );
  out.push('');

  const k = r.keywayMemory;
  out.push(
    `Keyway RSS: ${fmt(k.rssAfterLoadMiB, 1)} MiB right after its load run, ${fmt(k.rssAtEndMiB, 1)} MiB at the end, peak ${fmt(k.peakRssMiB, 1)} MiB`,
  );
  out.push('');
  out.push('Checks');
  for (const check of r.checks) out.push(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name} (${check.detail})`);
  out.push(`\nfinished ${r.finishedAt} in ${fmt(r.elapsedSec, 1)} s`);
  return `${out.join('\n')}\n`;
}
