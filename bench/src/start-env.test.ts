import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startScriptDefaults } from '@keyway/testing';
import { appStartEnv, benchDir } from './procs';

const repo = join(benchDir, '..');
const read = (...path: string[]): string => readFileSync(join(repo, ...path), 'utf8');
const startOf = (...path: string[]): string =>
  (JSON.parse(read(...path)) as { scripts: { start: string } }).scripts.start;
const TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072';

describe("the apps' start environment", () => {
  it.each(['standalone', 'gateway', 'control-plane', 'worker'])(
    "%s's start script sets glibc's malloc tunables unless the caller has",
    (app) => {
      const script = startOf('apps', app, 'package.json');
      expect(startScriptDefaults(script, {})).toEqual({ GLIBC_TUNABLES: TUNABLES });
      expect(startScriptDefaults(script, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=8' })).toEqual({});
    },
  );

  it('reads only NAME=${NAME:-value} prefixes', () => {
    expect(startScriptDefaults('node dist/main.js', {})).toEqual({});
    expect(startScriptDefaults('A=1 node dist/main.js', {})).toEqual({});
    expect(startScriptDefaults('A=${B:-1} node dist/main.js', {})).toEqual({});
  });

  it('is the same for pnpm start at the root and for the bench (deploy/test checks the images)', () => {
    expect(startScriptDefaults(startOf('package.json'), {})).toEqual({ GLIBC_TUNABLES: TUNABLES });
    const { GLIBC_TUNABLES: given, ...rest } = process.env;
    process.env = rest;
    try {
      expect(appStartEnv('gateway')).toEqual({ GLIBC_TUNABLES: TUNABLES });
    } finally {
      if (given !== undefined) process.env.GLIBC_TUNABLES = given;
    }
    expect(read('bench', 'src', 'keyway.ts')).toContain("...appStartEnv('standalone'),");
    expect(read('bench', 'src', 'distributed.ts')).toContain('...appStartEnv(app),');
  });

  it('reaches the node process, and a value the caller set wins', () => {
    const script = startOf('apps', 'standalone', 'package.json');
    const prefix = script.slice(0, script.indexOf(' node '));
    const run = (env: NodeJS.ProcessEnv): string =>
      execFileSync('sh', ['-c', `${prefix} node -e "process.stdout.write(process.env.GLIBC_TUNABLES)"`], {
        env,
        encoding: 'utf8',
      });
    const { GLIBC_TUNABLES: _, ...rest } = process.env;
    expect(run(rest)).toBe(TUNABLES);
    expect(run({ ...rest, GLIBC_TUNABLES: 'glibc.malloc.arena_max=8' })).toBe('glibc.malloc.arena_max=8');
  });
});
