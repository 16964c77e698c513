import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasCompose) {
  if (process.env.CI) throw new Error('docker-compose is required in CI to validate docker-compose.yml');
  console.warn(
    '\n!!! docker-compose not installed: skipping the compose validation (apt-get install docker-compose)\n',
  );
}

describe('deployment files', () => {
  it.skipIf(!hasCompose)('docker-compose.yml is a valid Compose file', () => {
    const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '--quiet'], {
      encoding: 'utf8',
      cwd: root,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the standalone image runs the built app, keeps data in a volume and has a health check', () => {
    const dockerfile = readFileSync(join(root, 'deploy/standalone/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/CMD \["node", "dist\/main.js"\]/);
    expect(dockerfile).toMatch(/VOLUME \["\/data"\]/);
    expect(dockerfile).toMatch(/HEALTHCHECK/);
    expect(dockerfile).toMatch(/pnpm-?\S* install --frozen-lockfile|pnpm install --frozen-lockfile/);
  });

  it('.env.example documents every variable the standalone env reads', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const env =
      readFileSync(join(root, 'apps/standalone/src/env.ts'), 'utf8') +
      readFileSync(join(root, 'packages/config/src/fragments.ts'), 'utf8');
    const used = new Set([...env.matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|PORT|HOST)\s*:/g)].map((m) => m[1]));
    for (const name of ['PORT', 'HOST', 'DATABASE_URL', 'AUTH_KEY', 'LOG_LEVEL', 'DATA_DIR'])
      expect(used.has(name)).toBe(true);
    const standalone = [
      'PORT',
      'HOST',
      'SHUTDOWN_TIMEOUT_SECONDS',
      'DATABASE_URL',
      'DATA_DIR',
      'AUTH_KEY',
      'ENCRYPTION_KEY',
      'METRICS_TOKEN',
      'CORS_ORIGINS',
      'TRUSTED_PROXIES',
      'LOG_LEVEL',
      'LOG_FORMAT',
    ];
    for (const name of standalone) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });
});
