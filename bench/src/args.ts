/** Command-line options of `pnpm bench`. */
import { parseArgs } from 'node:util';

/** Every target, in the order tables list them. */
export const TARGET_NAMES = [
  'direct',
  'bare',
  'standalone',
  'standalone-nolog',
  'distributed',
  'standalone-100k',
  'standalone-200groups',
  'standalone-accesskey',
  'standalone-pool',
  'standalone-translated',
  'standalone-traced',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
/** Standalone with a big key pool or many groups: their req/s is compared with standalone's. */
export const SCALE_TARGETS = [
  'standalone-100k',
  'standalone-200groups',
  'standalone-accesskey',
  'standalone-pool',
  'standalone-translated',
  'standalone-traced',
] as const satisfies readonly TargetName[];
/** Always measured: direct decides whether ratios may be reported at all, bare is what they are relative to. */
const REQUIRED: readonly TargetName[] = ['direct', 'bare'];

export interface BenchOptions {
  /** Targets to measure, in table order (always with direct and bare). */
  targets: TargetName[];
  connections: number;
  /** wrk threads for the load runs (the 1-connection runs use one). */
  threads: number;
  /** Measured load seconds per target and round. */
  durationSec: number;
  /** Unrecorded load seconds per target before its first round. */
  warmupSec: number;
  /** Seconds of a 1-connection wrk run per target and round (0 skips them). */
  latencySec: number;
  /** Sequential streamed requests per target. */
  streamSamples: number;
  /** Delay between the bench upstream's SSE events. */
  streamDelayMs: number;
  /** Content deltas per streamed answer (plus role, finish and [DONE] events). */
  streamChunks: number;
  bareMode: 'response' | 'outgoing';
  /** Before each measured load run, wait up to this many seconds for other processes to go quiet. */
  quietWaitSec: number;
  /** Seconds of an extra load run on standalone and the distributed gateway before reading their RSS (0: none). */
  soakSec: number;
  /** Load rounds per target (the order of targets rotates each round); figures are each target's median round. */
  rounds: number;
  /**
   * Back-to-back pairs of standalone and each scale target after the rounds (0: none); the scale goals use the
   * median of the per-pair ratios.
   */
  pairs: number;
  /** Measured load seconds of each run of a pair. */
  pairDurationSec: number;
  out: string | undefined;
  quick: boolean;
}

export const usage = `pnpm bench [-- options]

  --quick                 ~2 min run: one round of 3 s load, 1 s warm-up, 1 s latency, 50 stream samples, no soak,
                          2 pairs of 2 s
  --targets LIST          comma-separated, from ${TARGET_NAMES.join(', ')}
                          (default all; direct and bare are always measured, and standalone with a scale
                          target). Scale targets, like standalone (logging all): standalone-100k has 100,000
                          keys in its group; standalone-200groups has 200 groups, the load on the last created;
                          standalone-accesskey calls standalone's own process with an access key carrying every
                          limit and budget (none reached) instead of its proxy key; standalone-pool calls
                          standalone's own process on a second group of the same keys with per-key pacing limits
                          (none reached) and session affinity on; standalone-translated calls standalone's own
                          process in Anthropic format (/v1/messages) on a second OpenAI group of the same keys
                          that translates from it (its CPU per request is compared with standalone's);
                          standalone-traced is standalone with OpenTelemetry tracing on, exporting every span
                          (OTLP/HTTP protobuf) to a sink process (its CPU per request is compared with standalone's)
  -c, --connections N     concurrent connections for the load runs (default 64)
  -t, --threads N         wrk threads for the load runs (default 2)
  -d, --duration S        measured load seconds per target and round (default 10)
  -w, --warmup S          warm-up load seconds per target, before its first round (default 3)
  -r, --rounds N          load rounds per target, in rotating order; the median round counts (default 3)
  --pairs N               after the rounds, N back-to-back pairs of standalone and each scale target (order
                          alternating: the second run of a pair tends to come out a few % slower, so an even N
                          puts each side second equally often); their goals use the median of the per-pair
                          ratios, steadier than two median rounds minutes apart (default 6; --quick 2; 0 skips)
  --pair-duration S       measured load seconds of each run of a pair (default 4; --quick 2)
  --latency-duration S    1-connection wrk seconds per target and round (default 3; 0 skips)
  --stream-samples N      sequential streamed requests per target (default 200)
  --stream-delay-ms MS    delay between upstream SSE events (default 2)
  --soak S                after the rounds, load standalone and the distributed gateway S s more at the same
                          connections and read their RSS then (default 30; --quick 0; 0 skips)
  --quiet-wait S          before each load run wait up to S s for the machine to be idle (default 5)
  --bare-mode MODE        response (default: a web Response, like most hono proxies) or outgoing
                          (writes the node response directly: a stricter, ~1.1x faster baseline)
  --out FILE              JSON result file (default bench/results/latest.json)
  -h, --help

Needs wrk on the PATH (Debian/Ubuntu: apt-get install wrk).`;

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got "${raw}")`);
  return n;
}

function targetList(raw: string | undefined): TargetName[] {
  if (raw === undefined) return [...TARGET_NAMES];
  const asked = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = asked.filter((s) => !(TARGET_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`--targets: unknown ${unknown.join(', ')} (known: ${TARGET_NAMES.join(', ')})`);
  // the scale targets are only meaningful next to standalone from the same run
  if (asked.some((t) => (SCALE_TARGETS as readonly string[]).includes(t))) asked.push('standalone');
  return TARGET_NAMES.filter((t) => REQUIRED.includes(t) || asked.includes(t));
}

/** Parses argv (a bare `--` forwarded by pnpm is ignored); returns undefined for --help. */
export function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      targets: { type: 'string' },
      connections: { type: 'string', short: 'c' },
      threads: { type: 'string', short: 't' },
      duration: { type: 'string', short: 'd' },
      warmup: { type: 'string', short: 'w' },
      rounds: { type: 'string', short: 'r' },
      pairs: { type: 'string' },
      'pair-duration': { type: 'string' },
      'latency-duration': { type: 'string' },
      'stream-samples': { type: 'string' },
      'stream-delay-ms': { type: 'string' },
      'bare-mode': { type: 'string' },
      'quiet-wait': { type: 'string' },
      soak: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const bareMode = values['bare-mode'] ?? 'response';
  if (bareMode !== 'outgoing' && bareMode !== 'response') {
    throw new Error(`--bare-mode must be response or outgoing (got "${bareMode}")`);
  }
  return {
    quick,
    targets: targetList(values.targets),
    connections: Math.round(positive('connections', values.connections, 64)),
    threads: Math.round(positive('threads', values.threads, 2)),
    durationSec: Math.round(positive('duration', values.duration, quick ? 3 : 10)),
    warmupSec: Math.round(positive('warmup', values.warmup, quick ? 1 : 3, 0)),
    latencySec: Math.round(positive('latency-duration', values['latency-duration'], quick ? 1 : 3, 0)),
    streamSamples: Math.round(positive('stream-samples', values['stream-samples'], quick ? 50 : 200)),
    streamDelayMs: positive('stream-delay-ms', values['stream-delay-ms'], 2),
    streamChunks: 8,
    bareMode,
    quietWaitSec: positive('quiet-wait', values['quiet-wait'], quick ? 0 : 5, 0),
    soakSec: Math.round(positive('soak', values.soak, quick ? 0 : 30, 0)),
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    pairs: Math.round(positive('pairs', values.pairs, quick ? 2 : 6, 0)),
    pairDurationSec: Math.round(positive('pair-duration', values['pair-duration'], quick ? 2 : 4)),
    out: values.out,
  };
}
