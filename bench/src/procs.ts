/** Starting and stopping the benchmark's child processes; every one of them dies with this process. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, startScriptDefaults, stopAllProcesses, type ManagedProcess } from '@keyway/testing';

export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What one of Keyway's apps gets from its start script (and its image): the bench starts it with the same. */
export function appStartEnv(app: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(benchDir, '..', 'apps', app, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  return startScriptDefaults(pkg.scripts.start);
}

/** Runs a TypeScript child script of bench/src under tsx and waits for its `READY {json}` line. */
export async function startScript<T>(
  script: string,
  env: Record<string, string>,
): Promise<{ proc: ManagedProcess; info: T }> {
  const proc = await startProcess({
    command: process.execPath,
    args: ['--import', 'tsx', resolve(benchDir, 'src', script)],
    cwd: benchDir,
    env,
    readyLine: /^READY /,
    timeoutMs: 20_000,
  });
  const [line] = await proc.waitForLine(/^READY (.*)$/);
  return { proc, info: JSON.parse(line.slice('READY '.length)) as T };
}

/**
 * Node flags for one of Keyway's processes: with `BENCH_CPU_PROFILE=worker,gateway` (any of standalone, gateway,
 * control-plane, worker) that process runs under `--cpu-prof` and leaves a `.cpuprofile` in
 * bench/results/profiles/<app>/ when it stops (open it in Chrome DevTools).
 */
export function profileFlags(app: string): string[] {
  const wanted = (process.env.BENCH_CPU_PROFILE ?? '').split(',').map((s) => s.trim());
  if (!wanted.includes(app)) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${resolve(benchDir, 'results', 'profiles', app)}`];
}

let cleanups: (() => void)[] = [];
let exiting = false;

/** Registers a synchronous cleanup (e.g. removing a temp directory) run on exit. */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

function runCleanups(): void {
  const list = cleanups;
  cleanups = [];
  for (const fn of list) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
}

let asyncCleanups: (() => Promise<void>)[] = [];

/** Registers an asynchronous cleanup (dropping a database, deleting Redis keys) run after the children stop. */
export function onAsyncCleanup(fn: () => Promise<void>): void {
  asyncCleanups.push(fn);
}

/** Stops every child (SIGTERM, SIGKILL after `graceMs`) and runs the cleanups. */
export async function shutdownAll(graceMs = 3000): Promise<void> {
  await stopAllProcesses(graceMs);
  const list = asyncCleanups;
  asyncCleanups = [];
  for (const fn of list) await fn().catch(() => undefined);
  runCleanups();
}

/**
 * On Ctrl-C / SIGTERM / SIGHUP: stop the children (they run in their own process groups, so the terminal's
 * signal does not reach them) and exit. @keyway/testing SIGKILLs any child still alive on `exit`.
 */
export function installSignalHandlers(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${signal}: stopping child processes…\n`);
    void shutdownAll(1000).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', runCleanups);
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat counts CPU time in these ticks

/** User + system CPU seconds a process has used so far (Linux /proc), or NaN elsewhere. */
export function cpuSeconds(pid: number | undefined): number {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return Number.NaN;
  // fields after the ")" that closes the command name: state is field 3, utime 14, stime 15
  const rest = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Pids of the running processes whose command name is one of `names` (Linux /proc), e.g. the database. */
export function pidsNamed(names: readonly string[]): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.some((n) => comm.startsWith(n))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Resident and peak-resident memory of a process in MiB (Linux /proc), NaN elsewhere. */
export function memoryMiB(pid: number | undefined): { rss: number; peak: number } {
  const file = `/proc/${pid}/status`;
  if (pid === undefined || !existsSync(file)) return { rss: Number.NaN, peak: Number.NaN };
  const text = readFileSync(file, 'utf8');
  const kb = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Busy CPU seconds of the whole machine so far, all cores summed (Linux /proc/stat), NaN elsewhere. */
export function machineBusySeconds(): number {
  if (!existsSync('/proc/stat')) return Number.NaN;
  const fields =
    readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq … (guest time is already part of user; steal is other VMs')
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) / CLK_TCK;
}
