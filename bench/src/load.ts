/** Fixed-duration load with autocannon's API, run in its own child process (its own event loop). */
import { resolve } from 'node:path';
import { startProcess } from '@keyway/testing';
import type { LoadWorkerInput } from './load-worker';
import { benchDir } from './procs';

export type LoadOptions = LoadWorkerInput;

export interface LoadResult {
  rps: number;
  /** Completed requests (any status). */
  requests: number;
  /** autocannon's latency histogram has 1 ms resolution; it only records 2xx answers. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  /** CPU seconds the load generator's process used (start-up included). */
  loadGenCpuSec: number;
}

interface WorkerSummary {
  requests: number;
  durationSec: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  cpuSec: number;
}

/** One autocannon run in a child process; resolves with its summary. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const proc = await startProcess({
    command: process.execPath,
    args: ['--import', 'tsx', resolve(benchDir, 'src', 'load-worker.ts'), JSON.stringify(opts)],
    cwd: benchDir,
  });
  const code = await proc.exited;
  const line = proc.lines.find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line)
    throw new Error(`load worker exited with ${String(code)}:\n${proc.stderr.slice(-2000)}`);
  const r = JSON.parse(line.slice('RESULT '.length)) as WorkerSummary;
  return {
    rps: r.requests / r.durationSec,
    requests: r.requests,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    meanMs: r.latency.mean,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationSec: r.durationSec,
    loadGenCpuSec: r.cpuSec,
  };
}
