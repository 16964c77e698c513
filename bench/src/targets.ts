/** Starting the fake upstream and the targets to measure, each a real process on 127.0.0.1. */
import { randomBytes } from 'node:crypto';
import type { ManagedProcess } from '@keyway/testing';
import type { BenchOptions, TargetName } from './args';
import { ensureDistributedBuilt, startDistributed } from './distributed';
import { ensureStandaloneBuilt, startKeyway } from './keyway';
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
}

export interface Upstream {
  proc: ManagedProcess;
  url: string;
  /** The upstream process's control server: GET /stats, POST /reset. */
  control: string;
}

const PATH = '/v1/chat/completions';
const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

/** Builds what is missing, then starts the fake upstream and every target in `opts.targets`. */
export async function startTargets(
  opts: BenchOptions,
): Promise<{ upstream: Upstream; targets: RunningTarget[] }> {
  const wants = (t: TargetName): boolean => opts.targets.includes(t);
  if (wants('standalone') || wants('standalone-nolog')) ensureStandaloneBuilt();
  if (wants('distributed')) ensureDistributedBuilt();

  log(`starting the fake upstream and ${opts.targets.filter((t) => t !== 'direct').join(', ')}…`);
  const up = await startScript<{ url: string; control: string }>('upstream-proc.ts', {
    STREAM_DELAY_MS: String(opts.streamDelayMs),
    STREAM_CHUNKS: String(opts.streamChunks),
  });
  const upstream: Upstream = { proc: up.proc, ...up.info };
  const plain = { proc: undefined, upstreamKeys: undefined, helpers: undefined };
  const targets: RunningTarget[] = [];
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
          { length: 20 },
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
      case 'standalone-nolog': {
        const k = await startKeyway(upstream.url, name === 'standalone' ? 'all' : 'off');
        targets.push({
          ...plain,
          name,
          url: k.url,
          headers: { authorization: `Bearer ${k.proxyKey}` },
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
