/** Command-line options of `pnpm bench`. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  connections: number;
  /** Measured load seconds per target. */
  durationSec: number;
  /** Unrecorded load seconds per target before the measured run. */
  warmupSec: number;
  /** Seconds of sequential 1-connection requests per target. */
  latencySec: number;
  /** Sequential streamed requests per target. */
  streamSamples: number;
  /** Delay between the fake upstream's SSE events. */
  streamDelayMs: number;
  /** Content deltas per streamed answer (plus role, finish and [DONE] events). */
  streamChunks: number;
  bareMode: 'outgoing' | 'response';
  /** Before each measured load run, wait up to this many seconds for other processes to go quiet. */
  quietWaitSec: number;
  /** Load rounds per target (the order of targets rotates each round); figures are each target's median round. */
  rounds: number;
  out: string | undefined;
  quick: boolean;
}

export const usage = `pnpm bench [-- options]

  --quick                 ~40 s run: one round of 3 s load, 1 s warm-up, 1 s latency, 50 stream samples
  -c, --connections N     concurrent connections for the load runs (default 64)
  -d, --duration S        measured load seconds per target (default 10)
  -w, --warmup S          warm-up load seconds per target, before its first round (default 3)
  -r, --rounds N          load rounds per target, in rotating order; the median round counts (default 3)
  --latency-duration S    1-connection latency seconds per target (default 3)
  --stream-samples N      sequential streamed requests per target (default 200)
  --stream-delay-ms MS    delay between upstream SSE events (default 2)
  --quiet-wait S          before each load run wait up to S s for the machine to be idle (default 15)
  --bare-mode MODE        outgoing (default) or response: how the bare gateway writes its answer
  --out FILE              JSON result file (default bench/results/latest.json)
  -h, --help`;

function positive(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got "${raw}")`);
  return n;
}

/** Parses argv (a bare `--` forwarded by pnpm is ignored); returns undefined for --help. */
export function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string', short: 'c' },
      duration: { type: 'string', short: 'd' },
      warmup: { type: 'string', short: 'w' },
      rounds: { type: 'string', short: 'r' },
      'latency-duration': { type: 'string' },
      'stream-samples': { type: 'string' },
      'stream-delay-ms': { type: 'string' },
      'bare-mode': { type: 'string' },
      'quiet-wait': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const bareMode = values['bare-mode'] ?? 'outgoing';
  if (bareMode !== 'outgoing' && bareMode !== 'response') {
    throw new Error(`--bare-mode must be outgoing or response (got "${bareMode}")`);
  }
  return {
    quick,
    connections: Math.round(positive('connections', values.connections, 64)),
    durationSec: positive('duration', values.duration, quick ? 3 : 10),
    warmupSec: positive('warmup', values.warmup, quick ? 1 : 3, 0),
    latencySec: positive('latency-duration', values['latency-duration'], quick ? 1 : 3, 0.1),
    streamSamples: Math.round(positive('stream-samples', values['stream-samples'], quick ? 50 : 200)),
    streamDelayMs: positive('stream-delay-ms', values['stream-delay-ms'], 2),
    streamChunks: 8,
    bareMode,
    quietWaitSec: positive('quiet-wait', values['quiet-wait'], quick ? 0 : 15, 0),
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    out: values.out,
  };
}
