/**
 * Reading what a wrk run printed: the JSON line our Lua `done()` hook writes (see wrk-script.ts) and the CPU
 * seconds of wrk itself, reported by the shell's `times` builtin after wrk exited. Pure functions.
 */

/** Prefix of the one result line the Lua `done()` hook prints. */
export const WRK_RESULT_MARK = 'KEYWAY_WRK_RESULT ';

/** One wrk run, in the units the rest of the benchmark uses. */
export interface WrkSummary {
  /** Completed requests (any status). */
  requests: number;
  durationSec: number;
  rps: number;
  bytes: number;
  /** Latency of completed requests, from wrk's microsecond histogram. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Answers with a status of 400 or more (wrk's `errors.status`). */
  non2xx: number;
  /** Socket errors: connect + read + write. */
  errors: number;
  timeouts: number;
}

const FIELDS = [
  'requests',
  'duration_us',
  'bytes',
  'p50_us',
  'p90_us',
  'p99_us',
  'max_us',
  'mean_us',
  'non2xx',
  'err_connect',
  'err_read',
  'err_write',
  'err_timeout',
] as const;
type Raw = Record<(typeof FIELDS)[number], number>;

function tail(text: string, max = 600): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

/** Finds and checks the result line in wrk's stdout; throws, quoting the output, when it is missing or bad. */
export function parseWrkResult(stdout: string): WrkSummary {
  const line = stdout
    .split(/\r?\n/)
    .reverse()
    .find((l) => l.startsWith(WRK_RESULT_MARK));
  if (line === undefined) throw new Error(`wrk printed no result line:\n${tail(stdout)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(WRK_RESULT_MARK.length));
  } catch {
    throw new Error(`wrk's result line is not JSON: ${line}`);
  }
  const raw = parsed as Partial<Raw> | null;
  for (const field of FIELDS) {
    const value = raw?.[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new Error(`wrk's result line lacks a valid "${field}": ${line}`);
  }
  const r = raw as Raw;
  const durationSec = r.duration_us / 1e6;
  return {
    requests: r.requests,
    durationSec,
    rps: durationSec > 0 ? r.requests / durationSec : 0,
    bytes: r.bytes,
    p50Ms: r.p50_us / 1e3,
    p90Ms: r.p90_us / 1e3,
    p99Ms: r.p99_us / 1e3,
    maxMs: r.max_us / 1e3,
    meanMs: r.mean_us / 1e3,
    non2xx: r.non2xx,
    errors: r.err_connect + r.err_read + r.err_write,
    timeouts: r.err_timeout,
  };
}

/**
 * User + system CPU seconds of the shell's children from the output of the POSIX `times` builtin (second line:
 * `0m1.230000s 0m0.450000s` in dash, `0m1.230s 0m0.450s` in bash); NaN when it is not there.
 */
export function parseShellTimes(text: string): number {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^\d+m[\d.]+s\s+\d+m[\d.]+s$/.test(l));
  const children = lines[lines.length - 1];
  if (lines.length < 2 || children === undefined) return Number.NaN;
  let sec = 0;
  for (const m of children.matchAll(/(\d+)m([\d.]+)s/g)) sec += Number(m[1]) * 60 + Number(m[2]);
  return sec;
}
