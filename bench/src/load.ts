/**
 * Fixed-duration load with wrk (C, epoll, one thread per core): the load generator must not be what caps the
 * rate. autocannon, which this benchmark used before, runs on a Node event loop and on two shared cores reached
 * ~5.4k req/s straight to the fake upstream where wrk reaches ~31k, so every gateway looked alike. wrk is found on
 * the PATH; there is deliberately no fallback.
 */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startProcess } from '@keyway/testing';
import { onCleanup } from './procs';
import { parseShellTimes, parseWrkResult, WRK_RESULT_MARK, type WrkSummary } from './wrk-output';

/** POSTs a fixed body with fixed headers; `done()` prints one JSON line that wrk-output.ts reads. */
const LUA_SCRIPT = `-- written by @keyway/bench (bench/src/load.ts); removed when the run ends
local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = read_file(os.getenv("BENCH_BODY_FILE"))
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\\n]+") do
  local k, v = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if k then wrk.headers[k] = v end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${WRK_RESULT_MARK}{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"non2xx":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout))
end
`;

export const WRK_MISSING = `wrk was not found on the PATH. pnpm bench needs it as its load generator (a Node-based one is the
bottleneck on a small machine). Install it and run again:
  Debian/Ubuntu: apt-get install wrk      macOS: brew install wrk      others: https://github.com/wg/wrk`;

/** Absolute path of `wrk` on the PATH, or null. */
export function findWrk(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'wrk');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface Wrk {
  bin: string;
  version: string;
  /** Writes a request body to the temp directory; returns its path for {@link LoadSpec.bodyFile}. */
  bodyFile(name: string, body: Buffer): string;
}

/** Finds wrk, writes the Lua script to a temp directory (removed on exit); throws WRK_MISSING without wrk. */
export async function prepareWrk(): Promise<Wrk & { script: string }> {
  const bin = findWrk();
  if (bin === null) throw new Error(WRK_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'keyway-bench-wrk-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'post.lua');
  writeFileSync(script, LUA_SCRIPT);
  const probe = await startProcess({ command: bin, args: ['-v'] });
  await probe.exited;
  const version = /wrk\s+(\S+)/.exec(probe.stdout + probe.stderr)?.[1] ?? 'unknown';
  return {
    bin,
    script,
    version,
    bodyFile(name, body) {
      const file = join(dir, name);
      writeFileSync(file, body);
      return file;
    },
  };
}

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  bodyFile: string;
  connections: number;
  threads: number;
  durationSec: number;
}

export type LoadResult = WrkSummary & {
  /** CPU seconds wrk itself used. */
  loadGenCpuSec: number;
};

/** One wrk run (POST `bodyFile` to `url`); resolves with its summary. */
export async function runLoad(wrk: Wrk & { script: string }, spec: LoadSpec): Promise<LoadResult> {
  const args = [
    `-t${Math.max(1, Math.min(spec.threads, spec.connections))}`,
    `-c${spec.connections}`,
    `-d${Math.max(1, Math.round(spec.durationSec))}s`,
    // well above any expected latency: a slow gateway shows up as latency, not as socket errors
    '--timeout',
    '10s',
    '-s',
    wrk.script,
    spec.url,
  ];
  // Through a shell so that `times` can report wrk's CPU once it exited (a child's usage is not in Node's API).
  const proc = await startProcess({
    command: '/bin/sh',
    args: ['-c', '"$0" "$@"; rc=$?; times >&2; exit $rc', wrk.bin, ...args],
    env: {
      BENCH_BODY_FILE: spec.bodyFile,
      BENCH_HEADERS: Object.entries(spec.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    },
  });
  const code = await proc.exited;
  if (code !== 0)
    throw new Error(`wrk exited with ${String(code)}:\n${(proc.stdout + proc.stderr).slice(-2000)}`);
  return { ...parseWrkResult(proc.stdout), loadGenCpuSec: parseShellTimes(proc.stderr) };
}
