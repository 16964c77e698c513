import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  corsEnv,
  databaseEnv,
  httpServerEnv,
  logEnv,
  metricsEnv,
  natsEnv,
  redisEnv,
  secretsEnv,
  trustedProxiesEnv,
} from './fragments';
import { EnvError, loadEnv } from './load-env';
import { booleanFromEnv } from './primitives';

const appSchema = z.object({
  ...httpServerEnv,
  ...logEnv,
  ...corsEnv,
  ...trustedProxiesEnv,
  ...metricsEnv,
  ...secretsEnv,
  ...databaseEnv,
  ...redisEnv,
  ...natsEnv,
  REQUEST_LOGS: booleanFromEnv(true),
});

/** The EnvError loadEnv throws for `source` (fails the test when it does not throw). */
function envError(source: Record<string, string | undefined>): EnvError {
  try {
    loadEnv(appSchema, source);
  } catch (e) {
    if (e instanceof EnvError) return e;
    throw e;
  }
  throw new Error('loadEnv did not throw');
}

describe('loadEnv', () => {
  it('fills every default from an empty environment', () => {
    expect(loadEnv(appSchema, {})).toEqual({
      PORT: 3001,
      HOST: '0.0.0.0',
      SHUTDOWN_TIMEOUT_SECONDS: 30,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      CORS_ORIGINS: [],
      TRUSTED_PROXIES: [],
      METRICS_TOKEN: undefined,
      AUTH_KEY: undefined,
      ENCRYPTION_KEY: undefined,
      DATABASE_URL: 'file:./data/keyway.db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'kw:',
      NATS_URL: 'nats://127.0.0.1:4222',
      REQUEST_LOGS: true,
    });
  });

  it('treats empty and blank values as unset, so `.env` lines like AUTH_KEY= use the default', () => {
    const env = loadEnv(appSchema, { AUTH_KEY: '', PORT: '', LOG_LEVEL: '   ', REQUEST_LOGS: '' });
    expect(env.AUTH_KEY).toBeUndefined();
    expect(env.PORT).toBe(3001);
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.REQUEST_LOGS).toBe(true);
  });

  it('parses given values', () => {
    const env = loadEnv(appSchema, {
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'DEBUG',
      LOG_FORMAT: 'Pretty',
      CORS_ORIGINS: 'https://console.example.com, http://localhost:5173/',
      TRUSTED_PROXIES: '10.0.0.0/8,127.0.0.1, ::1, fd00::/8',
      AUTH_KEY: 'kW9#mQ2$vL7@xR4!pZ',
      DATABASE_URL: 'postgresql://keyway:pw@db:5432/keyway',
      REDIS_URL: 'rediss://cache.internal:6380/2',
      NATS_URL: 'nats://a:4222,nats://b:4222',
      REQUEST_LOGS: 'off',
    });
    expect(env).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
      CORS_ORIGINS: ['https://console.example.com', 'http://localhost:5173'],
      TRUSTED_PROXIES: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'],
      AUTH_KEY: 'kW9#mQ2$vL7@xR4!pZ',
      DATABASE_URL: 'postgresql://keyway:pw@db:5432/keyway',
      REQUEST_LOGS: false,
    });
  });

  it('ignores variables the schema does not name', () => {
    expect(loadEnv(z.object({ ...logEnv }), { PATH: '/usr/bin', LOG_LEVEL: 'warn' })).toEqual({
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    });
  });

  it('reads process.env by default', () => {
    process.env['KW_TEST_PORT'] = '4321';
    try {
      expect(loadEnv(z.object({ KW_TEST_PORT: httpServerEnv.PORT }))).toEqual({ KW_TEST_PORT: 4321 });
    } finally {
      delete process.env['KW_TEST_PORT'];
    }
  });

  it('lists every problem, one per line, each naming its variable and the value it got', () => {
    const e = envError({ PORT: 'abc', LOG_LEVEL: 'loud', REQUEST_LOGS: 'maybe', DATABASE_URL: 'sqlite.db' });
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('Invalid environment configuration (4 problems):');
    expect(lines.slice(1)).toEqual([
      'PORT: must be an integer between 1 and 65535 (got "abc")',
      'LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal (got "loud")',
      'DATABASE_URL: must start with file:, postgres://, postgresql://, mysql://, mariadb:// (got "sqlite.db")',
      'REQUEST_LOGS: must be one of true/false, 1/0, yes/no, on/off (got "maybe")',
    ]);
    expect(e.problems.map((p) => p.variable)).toEqual(['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'REQUEST_LOGS']);
    expect(e.name).toBe('EnvError');
  });

  it.each([
    ['AUTH_KEY', 'hunter2'],
    ['METRICS_TOKEN', 'tok'],
    ['SESSION_SECRET', 'x'],
    ['DB_PASSWORD', 'p@ss'],
  ])('never repeats the value of %s', (name, value) => {
    const schema = z.object({ [name]: z.string().min(20, { message: 'must be at least 20 characters' }) });
    let message = '';
    try {
      loadEnv(schema, { [name]: value });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${name}: must be at least 20 characters`);
    expect(message).not.toContain(value);
  });

  it('hides the password of a URL it repeats', () => {
    const schema = z.object({ DATABASE_URL: z.string().refine(() => false, { message: 'bad' }) });
    expect(() => loadEnv(schema, { DATABASE_URL: 'postgres://keyway:s3cr3t-pw@db/keyway' })).toThrow(
      'DATABASE_URL: bad (got "postgres://keyway:***@db/keyway")',
    );
  });

  it('says "is required" for a variable the schema requires and the environment lacks', () => {
    const schema = z.object({ UPSTREAM: z.string(), ...logEnv });
    expect(() => loadEnv(schema, { UPSTREAM: '' })).toThrow(/\nUPSTREAM: is required$/);
  });

  it('cuts very long values short', () => {
    const e = envError({ HOST: `bad host ${'x'.repeat(500)}` });
    expect(e.message.length).toBeLessThan(250);
    expect(e.message).toContain('…")');
  });
});

describe('env fragments', () => {
  it.each([
    ['PORT', '0', 'must be an integer between 1 and 65535'],
    ['PORT', '65536', 'must be an integer between 1 and 65535'],
    ['PORT', '80.5', 'must be an integer between 1 and 65535'],
    ['SHUTDOWN_TIMEOUT_SECONDS', '-1', 'must be an integer between 0 and 3600'],
    ['HOST', 'my host', 'must be a host name or IP address to bind to'],
    ['LOG_FORMAT', 'xml', 'must be one of json, pretty'],
    ['CORS_ORIGINS', 'https://ok.example.com,https://bad.example.com/path', 'entry 2 is not an origin'],
    ['CORS_ORIGINS', 'console.example.com', 'entry 1 is not an origin'],
    ['TRUSTED_PROXIES', '10.0.0.0/33', 'entry 1 is not an IP address or CIDR'],
    ['TRUSTED_PROXIES', '127.0.0.1,localhost', 'entry 2 is not an IP address or CIDR'],
    ['TRUSTED_PROXIES', '::1/129', 'entry 1 is not an IP address or CIDR'],
    ['DATABASE_URL', 'sqlserver://db', 'must start with file:'],
    ['DATABASE_URL', 'file:', 'must start with file:'],
    ['REDIS_URL', 'http://cache:6379', 'must be a URL starting with redis:// or rediss://'],
    ['REDIS_PREFIX', 'kw prefix', 'must be 1–64 letters'],
    ['NATS_URL', 'nats://a:4222,http://b', 'must be one or more comma-separated nats://'],
  ])('refuses %s=%s', (name, value, message) => {
    const e = envError({ [name]: value });
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]?.variable).toBe(name);
    expect(e.problems[0]?.message).toContain(message);
  });

  it('accepts each supported database URL scheme', () => {
    for (const url of [
      'file:/var/lib/keyway.db',
      'postgres://h/db',
      'postgresql://h/db',
      'mysql://h/db',
      'mariadb://h/db',
    ])
      expect(loadEnv(z.object(databaseEnv), { DATABASE_URL: url }).DATABASE_URL).toBe(url);
  });

  it('accepts "*" as a CORS origin and normalizes default ports away', () => {
    expect(loadEnv(z.object(corsEnv), { CORS_ORIGINS: '*, https://EXAMPLE.com:443' }).CORS_ORIGINS).toEqual([
      '*',
      'https://example.com',
    ]);
  });

  it('reports one problem per bad list entry', () => {
    const e = envError({ TRUSTED_PROXIES: 'nope, 10.0.0.1, 300.1.1.1' });
    expect(e.problems.map((p) => p.message.replace(/ \(got.*$/, ''))).toEqual([
      'entry 1 is not an IP address or CIDR such as 10.0.0.0/8',
      'entry 3 is not an IP address or CIDR such as 10.0.0.0/8',
    ]);
  });
});
