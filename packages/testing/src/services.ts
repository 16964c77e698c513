/**
 * Helpers for integration tests that need external services (Redis, NATS, PostgreSQL, MySQL…): a reachability
 * gate that skips loudly on a laptop but fails in CI, and per-file isolation prefixes.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const defaultPorts: Record<string, number> = {
  redis: 6379,
  rediss: 6379,
  nats: 4222,
  tls: 4222,
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
  mariadb: 3306,
  mongodb: 27017,
  amqp: 5672,
  http: 80,
  https: 443,
};

/** Host and port of a service URL (`redis://…`, `nats://a:4222,b:4222` → first, `host:port`). */
export function serviceAddress(url: string): { host: string; port: number } {
  const first = url.split(',')[0]?.trim() ?? '';
  const parsed = new URL(first.includes('://') ? first : `tcp://${first}`);
  const scheme = parsed.protocol.replace(/:$/, '');
  const port = parsed.port ? Number(parsed.port) : defaultPorts[scheme];
  if (port === undefined) throw new Error(`no port in ${redactUrl(first)} and no default for "${scheme}"`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port };
}

/** The URL with any password replaced by `***`, safe to print. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/g, '$1***@');
}

/** Whether a TCP connection to the URL's host/port succeeds within `timeoutMs`. Never throws. */
export function isServiceReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  let address: { host: string; port: number };
  try {
    address = serviceAddress(url);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Gate for integration tests: true if `url`'s host/port accepts a TCP connection. Otherwise prints a loud
 * warning and returns false (so the caller can `describe.skipIf(!ok)`) — except when `process.env.CI` is set,
 * where it throws so CI fails instead of silently skipping.
 *
 * @example
 * const hasRedis = await requireService('redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * describe.skipIf(!hasRedis)('redis key pool', () => { … });
 */
export async function requireService(name: string, url: string, timeoutMs = 1000): Promise<boolean> {
  if (await isServiceReachable(url, timeoutMs)) return true;
  const where = redactUrl(url);
  if (process.env.CI) {
    throw new Error(`${name} is required in CI but is not reachable at ${where}`);
  }
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING ${name} integration tests: nothing is listening at ${where}\n` +
      `!! Start ${name} locally to run them (in CI, with CI set, this is a failure).\n${bar}\n`,
  );
  return false;
}

/**
 * A unique, isolation-friendly prefix such as `t_keypool_m1x2y3z4_9f3a1c2e`: lower-case letters, digits and
 * underscores only, so it is valid as a Redis key prefix, NATS subject token / stream name and SQL schema
 * name. Append your own separator (`:`, `.`, `_`).
 */
export function randomPrefix(label: string): string {
  const clean =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 24) || 'test';
  return `t_${clean}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
