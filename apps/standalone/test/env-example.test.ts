import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Variable names an env schema declares (`NAME:` keys and the shared fragments they spread in). */
function declared(source: string): Set<string> {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return new Set([...code.matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|PORT|HOST)\s*:/g)].map((m) => m[1] ?? ''));
}

describe('.env.example', () => {
  it('documents every variable any app reads (standalone, gateway, control plane, worker)', () => {
    const example = read('.env.example');
    const fragments = read('packages/config/src/fragments.ts') + read('packages/config/src/otel.ts');
    const apps = ['standalone', 'gateway', 'control-plane', 'worker'];
    const names = new Set<string>();
    for (const app of apps)
      for (const n of declared(read(`apps/${app}/src/env.ts`) + fragments)) names.add(n);
    for (const n of ['PORT', 'DATABASE_URL', 'AUTH_KEY', 'REDIS_URL', 'NATS_URL', 'CONSOLE_DIR', 'DATA_DIR'])
      expect(names.has(n), n).toBe(true);
    const missing = [...names].filter((n) => !new RegExp(`^#? ?${n}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });
});
