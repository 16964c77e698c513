// docker-compose.yml: valid for Compose itself (docker compose v2, or Debian's docker-compose 1.29), and the
// properties a user would notice when running it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ComposeService, composeServices, dockerfileOf, profilesOf } from './compose';
import { arr, obj, readText, readYaml, requireTool, root, run } from './support';

const services = composeServices();
const SECRETS = ['AUTH_KEY', 'ENCRYPTION_KEY', 'POSTGRES_PASSWORD'];
const APP_DOCKERFILES = ['gateway', 'control-plane', 'worker'].map((app) => `deploy/${app}/Dockerfile`);

/** The distributed apps' services (the one-shot migrate excluded). */
function apps(): ComposeService[] {
  return [...services.values()].filter(
    (s) => APP_DOCKERFILES.includes(dockerfileOf(s) ?? '') && s.name !== 'migrate',
  );
}

function service(name: string): ComposeService {
  const found = services.get(name);
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** Services that run until stopped (not one-shot jobs such as migrate). */
function longRunning(): ComposeService[] {
  return [...services.values()].filter((s) => s.raw.restart !== 'no');
}

// `docker compose` (v2) when the Docker CLI has it, else Debian's docker-compose 1.29.
const compose =
  run('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
const hasCompose = requireTool(
  'docker compose / docker-compose',
  run(compose[0]!, [...compose.slice(1), 'version']).status === 0,
  'apt-get install docker-compose',
);

// docker-compose 1.29 takes a second or more per call, more on a busy machine.
describe.skipIf(!hasCompose)(`docker-compose.yml with ${compose.join(' ')}`, { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `config -q` with exactly these variables set (no .env, no inherited environment). */
  function config(vars: Record<string, string>) {
    const envFile = join(dir, 'env');
    writeFileSync(
      envFile,
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const args = [...compose.slice(1), '--env-file', envFile, '-f', join(root, 'docker-compose.yml')];
    return run(compose[0]!, [...args, 'config', '-q'], { env });
  }
  const secrets = Object.fromEntries(
    SECRETS.map((name) => [name, `test-${name.toLowerCase()}-0123456789abcdef`]),
  );

  it('is a valid Compose file once the secrets are set', () => {
    const result = config(secrets);
    expect(result.stderr).not.toMatch(/warn|error|invalid/i);
    expect(result.status).toBe(0);
  });

  it('refuses to start without the secrets, naming the missing variable', () => {
    const result = config({});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(SECRETS.join('|')));
  });
});

describe('docker-compose.yml', () => {
  it('gives every long-running service a health check and a restart policy', () => {
    for (const s of longRunning()) {
      const check = obj(s.raw.healthcheck);
      expect(arr(check.test).length, `${s.name} has a healthcheck test`).toBeGreaterThan(0);
      expect(check.disable, s.name).not.toBe(true);
      expect(['always', 'unless-stopped', 'on-failure'], `${s.name} restarts`).toContain(s.raw.restart);
    }
  });

  it('health-checks each app on the port it listens on, with /ready', () => {
    for (const s of [...apps(), service('standalone')]) {
      const port = s.name === 'standalone' ? '3001' : s.env.get('PORT');
      expect(arr(obj(s.raw.healthcheck).test).join(' '), s.name).toContain(`127.0.0.1:${port}/ready`);
    }
  });

  it('runs at least two gateway replicas, reachable only through nginx', () => {
    expect(Number(obj(service('gateway').raw.deploy).replicas)).toBeGreaterThanOrEqual(2);
    const published = [...services.values()].filter((s) => arr(s.raw.ports).length > 0).map((s) => s.name);
    expect(published.sort()).toEqual(['nginx', 'standalone']);
    expect(arr(service('nginx').raw.volumes)).toContain('./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  it('applies the database migrations once, before any app starts', () => {
    const migrate = service('migrate');
    expect(dockerfileOf(migrate)).toBe('deploy/control-plane/Dockerfile');
    expect(migrate.raw.command).toEqual(['node', 'dist/migrate.js']);
    expect(migrate.raw.restart).toBe('no');
    expect(migrate.dependsOn.get('postgres')).toBe('service_healthy');
    expect(
      apps()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['control-plane', 'gateway', 'worker']);
    for (const s of apps()) expect(s.dependsOn.get('migrate'), s.name).toBe('service_completed_successfully');
  });

  it('starts a service only after what it waits for is healthy', () => {
    for (const s of services.values()) {
      for (const [dep, condition] of s.dependsOn) {
        expect(services.has(dep), `${s.name} depends on ${dep}`).toBe(true);
        if (condition === 'service_healthy')
          expect(
            arr(obj(service(dep).raw.healthcheck).test).length,
            `${dep} has a healthcheck`,
          ).toBeGreaterThan(0);
      }
    }
    for (const s of apps()) {
      expect(s.dependsOn.get('redis'), s.name).toBe('service_healthy');
      expect(s.dependsOn.get('nats'), s.name).toBe('service_healthy');
    }
  });

  it('points every app at the compose PostgreSQL, Redis and NATS', () => {
    const needs: Record<string, string[]> = {
      gateway: ['REDIS_URL', 'NATS_URL', 'ENCRYPTION_KEY'],
      'control-plane': ['DATABASE_URL', 'REDIS_URL', 'NATS_URL', 'AUTH_KEY', 'ENCRYPTION_KEY'],
      worker: ['DATABASE_URL', 'REDIS_URL', 'NATS_URL', 'ENCRYPTION_KEY'],
      migrate: ['DATABASE_URL'],
    };
    for (const [name, vars] of Object.entries(needs)) {
      const env = service(name).env;
      for (const v of vars) expect(env.get(v), `${name} ${v}`).toBeTruthy();
      const hosts = ['DATABASE_URL', 'REDIS_URL', 'NATS_URL']
        .filter((v) => env.has(v))
        .map((v) => new URL(env.get(v)!.replace(/\$\{[^}]*\}/g, 'x')).hostname);
      for (const host of hosts) expect(services.has(host), `${name} reaches ${host}`).toBe(true);
    }
    expect(service('nats').raw.command).toContain('--jetstream');
  });

  it('requires the secrets instead of starting with empty ones', () => {
    expect(service('control-plane').env.get('AUTH_KEY')).toMatch(/^\$\{AUTH_KEY:\?.+\}$/);
    for (const s of apps())
      expect(s.env.get('ENCRYPTION_KEY'), s.name).toMatch(/^\$\{ENCRYPTION_KEY:\?.+\}$/);
    expect(service('postgres').env.get('POSTGRES_PASSWORD')).toMatch(/^\$\{POSTGRES_PASSWORD:\?.+\}$/);
  });

  it('keeps standalone and the collector out of a plain `docker compose up` (profiles standalone, tracing)', () => {
    expect(profilesOf(service('standalone'))).toEqual(['standalone']);
    expect(dockerfileOf(service('standalone'))).toBe('deploy/standalone/Dockerfile');
    expect(profilesOf(service('otel-collector'))).toEqual(['tracing']);
    for (const s of services.values())
      if (s.name !== 'standalone' && s.name !== 'otel-collector') expect(profilesOf(s), s.name).toEqual([]);
  });

  it('leaves tracing off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, for every app', () => {
    for (const s of [...apps(), service('standalone')])
      expect(s.env.get('OTEL_EXPORTER_OTLP_ENDPOINT'), s.name).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-}');
  });

  it('runs a collector that receives OTLP/HTTP and prints and forwards the traces', () => {
    const collector = service('otel-collector');
    expect(arr(collector.raw.volumes)).toContain(
      './deploy/otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro',
    );
    const config = obj(readYaml('deploy/otel-collector.yaml'));
    const http = obj(obj(obj(obj(config.receivers).otlp).protocols).http);
    expect(http.endpoint).toBe('0.0.0.0:4318');
    const traces = obj(obj(obj(config.service).pipelines).traces);
    expect(traces.receivers).toEqual(['otlp']);
    expect(traces.exporters).toEqual(['debug', 'otlphttp/backend']);
    const exporters = obj(config.exporters);
    for (const name of arr(traces.exporters)) expect(exporters[String(name)], String(name)).toBeDefined();
    for (const name of arr(traces.processors)) expect(obj(config.processors)[String(name)]).toBeDefined();
    expect(obj(exporters['otlphttp/backend']).endpoint).toBe('${env:OTEL_BACKEND_ENDPOINT}');
    expect(collector.env.get('OTEL_BACKEND_ENDPOINT')).toMatch(/^\$\{OTEL_BACKEND_ENDPOINT:-.+\}$/);
  });

  it('pins the versions of the images it pulls', () => {
    for (const s of services.values()) {
      if (dockerfileOf(s)) continue;
      expect(String(s.raw.image), s.name).toMatch(/^[\w./-]+:\d+(\.\d+)*(-[\w.]+)?$/);
    }
  });

  it('documents every variable it reads in .env.example', () => {
    const example = readText('.env.example');
    const used = new Set(
      [...readText('docker-compose.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!),
    );
    const missing = [...used].filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example));
    expect(missing, 'variables docker-compose.yml uses but .env.example does not document').toEqual([]);
  });
});
