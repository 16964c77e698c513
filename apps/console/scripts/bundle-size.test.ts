// @vitest-environment node
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./bundle-size.mjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'keyway-bundle-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
}

/** A dist folder with one incompressible script of `bytes` bytes (random hex compresses to about half). */
function fakeDist(name: string, bytes: number): string {
  const dir = join(temp, name, 'assets');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.js'), `export const x = "${randomBytes(bytes / 2).toString('hex')}";`);
  writeFileSync(join(dir, 'style.css'), 'x'.repeat(bytes)); // not JavaScript: not counted
  return join(temp, name);
}

describe('bundle-size script', () => {
  it('passes a bundle under the budget and prints its gzip total', () => {
    const r = run('--dir', fakeDist('small', 20_000), '--budget', '50000');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/1 JS files, .* gzip in total, within the budget/);
  });

  it('fails a bundle over the budget', () => {
    const r = run('--dir', fakeDist('big', 200_000), '--budget', '50000');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('OVER the budget');
  });

  it('fails when there is nothing to measure', () => {
    expect(run('--dir', join(temp, 'missing')).status).toBe(2);
  });

  // `pnpm test` builds first (turbo), so the real bundle is checked against the real budget here too.
  it.skipIf(!existsSync(dist))('keeps the built console under 1.5 MB of gzip-compressed JavaScript', () => {
    const r = run('--dir', dist);
    expect(r.stdout).toContain('within the budget');
    expect(r.status).toBe(0);
  });
});
