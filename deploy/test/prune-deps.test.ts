import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { root, run } from './support';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A pnpm-style node_modules: `.pnpm/<id>/node_modules/<name>` folders, linked by relative symlinks. */
function layout(): string {
  const nm = join(mkdtempSync(join(tmpdir(), 'prune-deps-')), 'node_modules');
  dirs.push(dirname(nm));
  const pkg = (id: string, name: string): string => {
    const dir = join(nm, '.pnpm', id, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
    return dir;
  };
  const link = (from: string, to: string): void => {
    mkdirSync(dirname(from), { recursive: true });
    symlinkSync(relative(dirname(from), to), from);
  };
  const app = pkg('@prisma+client@7', '@prisma/client');
  const runtime = pkg('runtime@1', 'runtime');
  const cli = pkg('prisma@7', 'prisma');
  const cliOnly = pkg('effect@3', 'effect');
  link(join(nm, '@prisma/client'), app);
  link(join(nm, '.pnpm/@prisma+client@7/node_modules/runtime'), runtime);
  link(join(nm, '.pnpm/@prisma+client@7/node_modules/prisma'), cli);
  link(join(nm, '.pnpm/prisma@7/node_modules/effect'), cliOnly);
  link(join(nm, '.pnpm/node_modules/effect'), cliOnly);
  return nm;
}

describe('deploy/prune-deps.mjs', () => {
  it('drops the named optional peers and what only they needed, keeping every package still reached', () => {
    const nm = layout();
    const result = run('node', [join(root, 'deploy/prune-deps.mjs'), nm, 'prisma', 'typescript']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(existsSync(join(nm, '@prisma/client/package.json'))).toBe(true);
    expect(existsSync(join(nm, '.pnpm/@prisma+client@7/node_modules/runtime/package.json'))).toBe(true);
    expect(existsSync(join(nm, '.pnpm/prisma@7'))).toBe(false);
    expect(existsSync(join(nm, '.pnpm/effect@3'))).toBe(false);
    expect(() => lstatSync(join(nm, '.pnpm/node_modules/effect'))).toThrow();
    expect(result.stdout).toContain('kept 2 packages, removed 2');
  });

  it('refuses to run without a package to drop', () => {
    expect(run('node', [join(root, 'deploy/prune-deps.mjs'), layout()]).status).toBe(2);
  });
});
