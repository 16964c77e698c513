/** Starting the bench upstream and the targets to measure, each a real process on 127.0.0.1. */
import { randomBytes } from 'node:crypto';
import type { ManagedProcess } from '@keyway/testing';
import type { BenchOptions, TargetName } from './args';
import { ensureDistributedBuilt, startDistributed } from './distributed';
import { ensureStandaloneBuilt, startKeyway, type BenchGroupShape } from './keyway';
import { startScript } from './procs';

export interface RunningTarget {
  name: TargetName;
  /** Full URL of the chat completions endpoint. */
  url: string;
  headers: Record<string, string>;
  /** The process whose CPU and memory are the target's own; none for direct (the upstream is counted apart). */
  proc: ManagedProcess | undefined;
  /** Keyway targets: the upstream keys of its bench group (the load must reach the upstream with these only). */
  upstreamKeys: string[] | undefined;
  /** Distributed: its control plane and worker (PostgreSQL, Redis and NATS are found by process name). */
  helpers: { controlPlane: ManagedProcess | undefined; worker: ManagedProcess | undefined } | undefined;
  /** The caller's format when not OpenAI chat: the bodies main.ts sends are built for it. */
  dialect?: 'anthropic';
  /** Translated targets: SSE events the upstream sends per streamed answer (the stream check counts those). */
  upstreamEvents?: number;
}

export interface Upstream {
  proc: ManagedProcess;
  url: string;
  /** The upstream process's control server: GET /stats, POST /reset. */
  control: string;
}

const PATH = '/v1/chat/completions';
/** The scale targets' configuration; the load goes to the `bench` group, in 200groups the last one created. */
const SHAPES: Partial<Record<TargetName, BenchGroupShape>> = {
  'standalone-100k': { keys: 100_000 },
  'standalone-200groups': { groups: 200 },
};
const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

/** Builds what is missing, then starts the bench upstream and every target in `opts.targets`. */
export async function startTargets(
  opts: BenchOptions,
): Promise<{ upstream: Upstream; targets: RunningTarget[] }> {
  const wants = (t: TargetName): boolean => opts.targets.includes(t);
  if (opts.targets.some((t) => t.startsWith('standalone'))) ensureStandaloneBuilt();
  if (wants('distributed')) ensureDistributedBuilt();

  log(`starting the bench upstream and ${opts.targets.filter((t) => t !== 'direct').join(', ')}…`);
  const up = await startScript<{ url: string; control: string }>('upstream-proc.ts', {
    STREAM_DELAY_MS: String(opts.streamDelayMs),
    STREAM_CHUNKS: String(opts.streamChunks),
  });
  const upstream: Upstream = { proc: up.proc, ...up.info };
  const plain = { proc: undefined, upstreamKeys: undefined, helpers: undefined };
  const targets: RunningTarget[] = [];
  // The access-key target calls the standalone target's own process with an access key instead of the proxy key:
  // the difference is the access key's cost alone, not that of another process started apart.
  let standalone: Awaited<ReturnType<typeof startKeyway>> | undefined;
  for (const name of opts.targets) {
    switch (name) {
      case 'direct':
        targets.push({
          name,
          url: `${upstream.url}${PATH}`,
          headers: { authorization: 'Bearer sk-bench-direct' },
          ...plain,
        });
        break;
      case 'bare': {
        const proxyKey = `bench-proxy-bare-${randomBytes(8).toString('hex')}`;
        const keys = Array.from(
          { length: 3 },
          (_, i) => `sk-bench-bare-${i}-${randomBytes(6).toString('hex')}`,
        );
        const bare = await startScript<{ url: string }>('bare-gateway.ts', {
          UPSTREAM: upstream.url,
          UPSTREAM_KEYS: keys.join(','),
          PROXY_KEY: proxyKey,
          BARE_MODE: opts.bareMode,
        });
        targets.push({
          ...plain,
          name,
          url: `${bare.info.url}${PATH}`,
          headers: { authorization: `Bearer ${proxyKey}` },
          proc: bare.proc,
        });
        break;
      }
      case 'standalone':
      case 'standalone-nolog':
      case 'standalone-100k':
      case 'standalone-200groups':
      case 'standalone-accesskey':
      case 'standalone-pool':
      case 'standalone-translated':
      case 'standalone-traced': {
        if (name === 'standalone-100k') log("adding 100,000 keys to standalone-100k's group…");
        if (name === 'standalone-200groups') log('creating 200 groups on standalone-200groups…');
        const shared =
          name === 'standalone-accesskey' || name === 'standalone-pool' || name === 'standalone-translated';
        const sink =
          name === 'standalone-traced' ? await startScript<{ url: string }>('otlp-sink.ts', {}) : null;
        const k =
          shared && standalone
            ? standalone
            : await startKeyway(
                upstream.url,
                name === 'standalone-nolog' ? 'off' : 'all',
                SHAPES[name],
                // Every request sampled, batches exported as the SDK's defaults say.
                sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.info.url, OTEL_TRACES_SAMPLER: 'always_on' } : {},
              );
        if (name === 'standalone') standalone = k;
        const pool =
          name === 'standalone-pool'
            ? await k.createPoolGroup()
            : name === 'standalone-translated'
              ? await k.createTranslatedGroup()
              : null;
        const secret =
          name === 'standalone-accesskey' ? await k.createAccessKey() : (pool?.proxyKey ?? k.proxyKey);
        const translated = name === 'standalone-translated';
        targets.push({
          ...plain,
          name,
          url: pool?.url ?? k.url,
          // An Anthropic SDK sends its key in x-api-key, with the API version it speaks.
          headers: translated
            ? { 'x-api-key': secret, 'anthropic-version': '2023-06-01' }
            : { authorization: `Bearer ${secret}` },
          // Upstream: role, each delta, finish, the usage chunk the gateway asks for (Anthropic callers always get
          // usage), [DONE].
          ...(translated ? { dialect: 'anthropic' as const, upstreamEvents: opts.streamChunks + 4 } : {}),
          proc: k.proc,
          upstreamKeys: k.upstreamKeys,
        });
        break;
      }
      case 'distributed': {
        const d = await startDistributed(upstream.url);
        const [controlPlane, worker] = d.others;
        targets.push({
          name,
          url: d.url,
          headers: { authorization: `Bearer ${d.proxyKey}` },
          proc: d.proc,
          upstreamKeys: d.upstreamKeys,
          helpers: { controlPlane, worker },
        });
        break;
      }
    }
  }
  return { upstream, targets };
}
