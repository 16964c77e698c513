import { z } from 'zod';
import {
  intFromEnv,
  listFromEnv,
  parseIpOrCidr,
  parseOrigin,
  portSchema,
  splitList,
  urlFromEnv,
} from './primitives';

// Shapes an app spreads into its own schema: `z.object({ ...httpServerEnv, ...logEnv, MY_VAR: … })`.

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** LOG_LEVEL (default info) and LOG_FORMAT (default json); both case-insensitive. */
export const logEnv = {
  LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }))
    .default('info'),
  LOG_FORMAT: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }))
    .default('json'),
};

/** PORT (default 3001), HOST (default 0.0.0.0) and SHUTDOWN_TIMEOUT_SECONDS (default 30, at most 1 hour). */
export const httpServerEnv = {
  PORT: portSchema(3001),
  HOST: z
    .string()
    .trim()
    .regex(/^[^\s/]+$/, { message: 'must be a host name or IP address to bind to' })
    .default('0.0.0.0'),
  SHUTDOWN_TIMEOUT_SECONDS: intFromEnv(30, { min: 0, max: 3600 }),
};

/** CORS_ORIGINS: comma-separated origins (or `*`); empty = CORS off. */
export const corsEnv = {
  CORS_ORIGINS: listFromEnv(parseOrigin, 'an origin like https://console.example.com (or *)'),
};

/** TRUSTED_PROXIES: comma-separated IPs/CIDRs whose X-Forwarded-For is believed; empty = none. */
export const trustedProxiesEnv = {
  TRUSTED_PROXIES: listFromEnv(parseIpOrCidr, 'an IP address or CIDR such as 10.0.0.0/8'),
};

/** METRICS_TOKEN: when set, /metrics requires it as a bearer token. */
export const metricsEnv = {
  METRICS_TOKEN: z.string().optional(),
};

/**
 * AUTH_KEY (admin key) and ENCRYPTION_KEY (keys at rest), both optional here: what to do when unset or
 * weak is the app's decision (see `isWeakSecret`).
 */
export const secretsEnv = {
  AUTH_KEY: z.string().optional(),
  ENCRYPTION_KEY: z.string().optional(),
};

/** `ENCRYPTION_KEY=off` (any case): the one explicit way to store upstream keys unencrypted, in every mode. */
export const ENCRYPTION_OFF = 'off';

/**
 * ENCRYPTION_KEY of the distributed apps (control plane, gateway, worker): required, since replicas must share one
 * key and a missing variable must not quietly mean "store keys in plaintext". `off` opts out explicitly. Pipe the
 * parsed object through {@link splitEncryptionKey}.
 */
export const requiredEncryptionKeyEnv = {
  ENCRYPTION_KEY: z.string({
    error:
      'is required in distributed mode: the same long random value for the control plane, every gateway and ' +
      'worker (openssl rand -hex 32; for a database from standalone, the content of the encryption-key file in ' +
      'its data directory), or `off` to store upstream keys unencrypted',
  }),
};

/**
 * Turns ENCRYPTION_KEY=off into `encryptionOff: true` and no key, so no code mistakes the word for a key (nor
 * checks it for strength); any other value is the key, unchanged.
 */
export function splitEncryptionKey<T extends { ENCRYPTION_KEY?: string | undefined }>(
  env: T,
): Omit<T, 'ENCRYPTION_KEY'> & { ENCRYPTION_KEY: string | undefined; encryptionOff: boolean } {
  const { ENCRYPTION_KEY: value, ...rest } = env;
  const encryptionOff = value?.trim().toLowerCase() === ENCRYPTION_OFF;
  return { ...rest, ENCRYPTION_KEY: encryptionOff ? undefined : value, encryptionOff };
}

const DATABASE_SCHEMES = ['file:', 'postgres://', 'postgresql://', 'mysql://', 'mariadb://'] as const;

/** The database behind a DATABASE_URL. */
export type DatabaseKind = 'sqlite' | 'postgresql' | 'mysql';

/** Which database a (validated) DATABASE_URL points at. */
export function databaseKind(url: string): DatabaseKind {
  if (url.startsWith('file:')) return 'sqlite';
  return url.startsWith('postgres') ? 'postgresql' : 'mysql';
}

/** DATABASE_URL: `file:` (SQLite), `postgres(ql)://`, `mysql://` or `mariadb://`; default file:./data/keyway.db. */
export const databaseEnv = {
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => DATABASE_SCHEMES.some((s) => v.toLowerCase().startsWith(s)) && v.length > 'file:'.length, {
      message: `must start with ${DATABASE_SCHEMES.join(', ')}`,
    })
    .default('file:./data/keyway.db'),
};

/** REDIS_URL (default redis://127.0.0.1:6379; redis:// or rediss://) and REDIS_PREFIX (default `kw:`). */
export const redisEnv = {
  REDIS_URL: urlFromEnv('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'must be 1–64 letters, digits or ":_.-"' })
    .default('kw:'),
};

const NATS_SCHEMES = ['nats:', 'tls:', 'ws:', 'wss:'];

/** NATS_URL: one server or a comma-separated list (nats://, tls://, ws://, wss://); default nats://127.0.0.1:4222. */
export const natsEnv = {
  NATS_URL: z
    .string()
    .trim()
    .refine(
      (v) => {
        const servers = splitList(v);
        return (
          servers.length > 0 &&
          servers.every((s) => {
            try {
              const u = new URL(s);
              return NATS_SCHEMES.includes(u.protocol) && u.hostname !== '';
            } catch {
              return false;
            }
          })
        );
      },
      { message: 'must be one or more comma-separated nats://, tls://, ws:// or wss:// URLs' },
    )
    .default('nats://127.0.0.1:4222'),
};
