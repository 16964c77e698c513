import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EnvError, loadEnv } from '@keyway/config';
import type { z } from 'zod';

type Line = (line: string) => void;

/** True when the module at `moduleUrl` is the process's entry point (not imported, e.g. by a test). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

/**
 * Runs a command (`pnpm <name>`) when its module is the entry point: lines to stdout/stderr, its return value as
 * the exit code. An unexpected throw prints only the error's name, since its message may quote a secret.
 */
export function runIfEntryPoint(
  moduleUrl: string,
  name: string,
  run: (out: Line, err: Line) => Promise<number>,
): void {
  if (!isEntryPoint(moduleUrl)) return;
  void run(
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`keyway: ${name} failed: ${e instanceof Error ? e.name : 'error'}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * A command's environment read with its schema; null (the problem written to `err`) when a variable is invalid,
 * so the command exits with the usage code 2.
 */
export function loadCommandEnv<S extends z.ZodType>(
  schema: S,
  source: NodeJS.ProcessEnv,
  err: Line,
): z.output<S> | null {
  try {
    return loadEnv(schema, source);
  } catch (e) {
    if (!(e instanceof EnvError)) throw e;
    err(e.message);
    return null;
  }
}
