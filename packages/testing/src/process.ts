/**
 * Spawning real child processes (gateway, worker, standalone…) for end-to-end tests: wait until they are
 * ready, collect their output for assertions, and make sure they die with the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  command: string;
  args?: readonly string[];
  /** Environment variables merged over `process.env` (a value of `undefined` removes the variable). */
  env?: Record<string, string | undefined>;
  /** Inherit `process.env` under `env`. Default true. */
  inheritEnv?: boolean;
  cwd?: string;
  /** Ready once a GET of this URL answers 200 (polled every 50 ms). */
  readyUrl?: string;
  /** Ready once an output line (stdout or stderr) matches. */
  readyLine?: RegExp;
  /** How long to wait for readiness. Default 15 000 ms. */
  timeoutMs?: number;
  /** Mirror the child's output to this process's stderr (handy while debugging). Default false. */
  echo?: boolean;
}

/** A running child process started by {@link startProcess}. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout so far. */
  readonly stdout: string;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  /** Complete lines from both streams, in arrival order. */
  readonly lines: readonly string[];
  /** Origin of `readyUrl` (e.g. `http://127.0.0.1:4000`), when one was given. */
  readonly url: string | undefined;
  /** Settles with the exit code (`null` when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /**
   * Sends `signal` to the process group, escalating to SIGKILL after `graceMs` (default 5000);
   * resolves with the exit code (`null` when it died of a signal).
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** Resolves with the match of the first output line (already seen or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) signalGroup(child, 'SIGKILL');
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function tail(text: string, max = 4000): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/**
 * Spawns `command` (in its own process group), waits until `readyUrl` answers 200 and/or an output line
 * matches `readyLine`, and collects stdout/stderr. Rejects — after killing the child — if it exits or times
 * out first. Children still running when the test process exits are SIGKILLed; call `stop()` (or
 * {@link stopAllProcesses}) in `afterAll` for a graceful shutdown.
 */
export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const env: Record<string, string> = {};
  const merged = { ...(options.inheritEnv === false ? {} : process.env), ...options.env };
  for (const [name, value] of Object.entries(merged)) if (value !== undefined) env[name] = value;

  installExitHook();
  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);

  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const waiters = new Set<(line: string) => void>();

  const pushLine = (line: string): void => {
    lines.push(line);
    for (const waiter of [...waiters]) waiter(line);
  };
  const onData = (stream: 'stdout' | 'stderr', text: string): void => {
    if (stream === 'stdout') stdout += text;
    else stderr += text;
    if (options.echo) process.stderr.write(text);
    const parts = (partial[stream] + text).split(/\r?\n/);
    partial[stream] = parts.pop() ?? '';
    for (const line of parts) pushLine(line);
  };
  child.stdout?.setEncoding('utf8').on('data', (text: string) => onData('stdout', text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => onData('stderr', text));

  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      live.delete(child);
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream] !== '') pushLine(partial[stream]);
        partial[stream] = '';
      }
      resolve(code);
    });
  });
  const spawnError = new Promise<never>((_resolve, reject) => {
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
  });
  spawnError.catch(() => undefined);

  const waitForLine = (pattern: RegExp, lineTimeoutMs = 5000): Promise<RegExpExecArray> => {
    const test = (line: string): RegExpExecArray | null => {
      pattern.lastIndex = 0;
      return pattern.exec(line);
    };
    for (const line of lines) {
      const match = test(line);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const waiter = (line: string): void => {
        const match = test(line);
        if (!match) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(match);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `no output line matched ${String(pattern)} within ${lineTimeoutMs} ms; output:\n${tail(lines.join('\n'))}`,
          ),
        );
      }, lineTimeoutMs);
      waiters.add(waiter);
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    signalGroup(child, signal);
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  const managed: ManagedProcess = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    lines,
    url: options.readyUrl ? new URL(options.readyUrl).origin : undefined,
    exited,
    stop,
    waitForLine,
  };

  let settled = false;
  const checks: Promise<unknown>[] = [];
  if (options.readyUrl) checks.push(pollUrl(options.readyUrl, () => settled));
  if (options.readyLine) checks.push(waitForLine(options.readyLine, timeoutMs + 1000));
  const died = exited.then((code) => {
    throw new Error(`${options.command} exited with code ${String(code)} before it was ready`);
  });
  const timedOut = sleep(timeoutMs).then(() => {
    throw new Error(`${options.command} was not ready within ${timeoutMs} ms`);
  });
  try {
    await Promise.race([Promise.all(checks), died, timedOut, spawnError]);
  } catch (error) {
    settled = true;
    await stop('SIGKILL', 1000).catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`, {
      cause: error,
    });
  } finally {
    settled = true;
    died.catch(() => undefined);
    timedOut.catch(() => undefined);
  }
  return managed;
}

async function pollUrl(url: string, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

/** Stops every process started by {@link startProcess} that is still running (SIGTERM, then SIGKILL). */
export async function stopAllProcesses(graceMs = 5000): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
          child.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          signalGroup(child, 'SIGTERM');
        }),
    ),
  );
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
