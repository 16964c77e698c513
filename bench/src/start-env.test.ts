import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startScriptDefaults } from './keyway';
import { benchDir } from './procs';

const repo = join(benchDir, '..');
const read = (...path: string[]): string => readFileSync(join(repo, ...path), 'utf8');
const startOf = (...path: string[]): string =>
  (JSON.parse(read(...path)) as { scripts: { start: string } }).scripts.start;

describe("standalone's start environment", () => {
  const standalone = startOf('apps', 'standalone', 'package.json');
  const tunables = startScriptDefaults(standalone, {}).GLIBC_TUNABLES ?? '';

  it("sets glibc's malloc tunables unless the caller has", () => {
    expect(tunables).toBe('glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072');
    expect(startScriptDefaults(standalone, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=8' })).toEqual({});
    expect(startScriptDefaults('node dist/main.js', {})).toEqual({});
  });

  it('is the same for pnpm start at the root and the bench (deploy/test checks the image)', () => {
    expect(startScriptDefaults(startOf('package.json'), {})).toEqual({ GLIBC_TUNABLES: tunables });
    expect(read('bench', 'src', 'keyway.ts')).toContain('...standaloneStartEnv(),');
  });

  it('reaches the node process, and a value the caller set wins', () => {
    const prefix = standalone.slice(0, standalone.indexOf(' node '));
    const run = (env: NodeJS.ProcessEnv): string =>
      execFileSync('sh', ['-c', `${prefix} node -e "process.stdout.write(process.env.GLIBC_TUNABLES)"`], {
        env,
        encoding: 'utf8',
      });
    const { GLIBC_TUNABLES: _, ...rest } = process.env;
    expect(run(rest)).toBe(tunables);
    expect(run({ ...rest, GLIBC_TUNABLES: 'glibc.malloc.arena_max=8' })).toBe('glibc.malloc.arena_max=8');
  });
});
