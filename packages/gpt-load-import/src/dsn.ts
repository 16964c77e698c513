/**
 * `--from` parsing. Accepts URLs (`mysql://`, `mariadb://`, `postgres://`, `postgresql://`, `sqlite:`/`file:`)
 * and GPT-Load's own DATABASE_DSN, decided exactly as internal/db/database.go does: a `postgres(ql)://` prefix
 * is PostgreSQL, anything containing `@tcp` is a Go MySQL driver DSN (`user:pass@tcp(host:port)/db?params`),
 * everything else is a SQLite file path (so a libpq `key=value` string is a file name there too).
 */
import { GptLoadReadError, type GptLoadSource } from './types';

/** A parsed SQLite source. */
export interface SqliteDsn {
  kind: 'sqlite';
  path: string;
  label: string;
}

/** A parsed MySQL/MariaDB source. `loc` is the Go driver's zone of DATETIME values (absent = UTC). */
export interface MysqlDsn {
  kind: 'mysql';
  host: string;
  port: number;
  socketPath?: string;
  user: string;
  password?: string;
  database: string;
  loc?: string;
  ssl: boolean;
  label: string;
}

/** A parsed PostgreSQL source (the URL is handed to `pg` as is). */
export interface PostgresDsn {
  kind: 'postgres';
  connectionString: string;
  label: string;
}

export type GptLoadDsn = SqliteDsn | MysqlDsn | PostgresDsn;

const MASK = '***';

/** Parses `--from` (or GPT-Load's DATABASE_DSN) into connection settings plus a password-free label. */
export function parseGptLoadDsn(from: string): GptLoadDsn {
  const input = from.trim();
  if (input === '') throw new GptLoadReadError('source_unavailable', 'No GPT-Load database given (--from)');
  if (/^postgres(ql)?:\/\//i.test(input)) {
    return { kind: 'postgres', connectionString: input, label: maskUrl(input) };
  }
  if (/^(mysql|mariadb):\/\//i.test(input)) return parseMysqlUrl(input);
  if (input.includes('@tcp') || /@unix\(/.test(input)) return parseGoMysqlDsn(input);
  const path = input.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  return { kind: 'sqlite', path, label: path };
}

/** The `source` of a snapshot for a parsed DSN. */
export function sourceOf(dsn: GptLoadDsn): GptLoadSource {
  return { kind: dsn.kind, label: dsn.label };
}

function parseMysqlUrl(input: string): MysqlDsn {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new GptLoadReadError('source_unavailable', `Not a valid MySQL URL: ${maskUrl(input)}`, { cause });
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const params = url.searchParams;
  return {
    kind: 'mysql',
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    database,
    ...optionalLoc(params.get('loc')),
    ssl: isTlsOn(params.get('ssl') ?? params.get('tls') ?? params.get('sslmode')),
    label: maskUrl(input),
  };
}

/**
 * Go MySQL driver DSN: `[user[:password]@][net[(addr)]]/dbname[?params]`. Like the driver, the database is after
 * the last `/`, the credentials end at the last `@` before the address, and the user ends at the first `:` (so
 * a password may contain `@`, `:` and `/`).
 */
function parseGoMysqlDsn(input: string): MysqlDsn {
  const q = input.indexOf('?', input.lastIndexOf(')') + 1);
  const main = q < 0 ? input : input.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : input.slice(q + 1));
  const slash = main.lastIndexOf('/');
  if (slash < 0) throw new GptLoadReadError('source_unavailable', 'MySQL DSN without "/dbname"');
  const database = main.slice(slash + 1);
  const head = main.slice(0, slash);
  const at = head.lastIndexOf('@');
  const cred = at < 0 ? '' : head.slice(0, at);
  const address = at < 0 ? head : head.slice(at + 1);
  const colon = cred.indexOf(':');
  const user = colon < 0 ? cred : cred.slice(0, colon);
  const password = colon < 0 ? undefined : cred.slice(colon + 1);
  const m = /^(\w+)(?:\((.*)\))?$/.exec(address);
  const net = m?.[1] ?? 'tcp';
  const addr = m?.[2] ?? '';
  const base = {
    kind: 'mysql' as const,
    user: user || 'root',
    ...(password ? { password } : {}),
    database,
    ...optionalLoc(params.get('loc')),
    ssl: isTlsOn(params.get('tls')),
    label: `${user}${password === undefined ? '' : `:${MASK}`}@${address}/${database}`,
  };
  if (net === 'unix') return { ...base, host: 'localhost', port: 3306, socketPath: addr };
  const { host, port } = splitHostPort(addr || '127.0.0.1:3306');
  return { ...base, host, port };
}

function splitHostPort(addr: string): { host: string; port: number } {
  const v6 = /^\[(.*)\](?::(\d+))?$/.exec(addr);
  if (v6) return { host: v6[1] ?? '', port: v6[2] ? Number(v6[2]) : 3306 };
  const i = addr.lastIndexOf(':');
  if (i < 0) return { host: addr, port: 3306 };
  return { host: addr.slice(0, i) || '127.0.0.1', port: Number(addr.slice(i + 1)) || 3306 };
}

function optionalLoc(loc: string | null): { loc?: string } {
  return loc ? { loc: decodeURIComponent(loc) } : {};
}

function isTlsOn(v: string | null): boolean {
  return v !== null && !['', 'false', 'disable', 'disabled', '0'].includes(v.toLowerCase());
}

/**
 * Replaces the password of a URL-shaped DSN with `***`, also when the URL does not parse. The credentials end at
 * the last `@` before the query, so an unencoded `@` in a password is masked too.
 */
export function maskUrl(input: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(input);
  if (!scheme) return input;
  const start = scheme[0].length;
  const q = input.indexOf('?', start);
  const at = input.lastIndexOf('@', q < 0 ? input.length : q);
  if (at < start) return input;
  const colon = input.indexOf(':', start);
  if (colon < 0 || colon > at) return input;
  return `${input.slice(0, colon)}:${MASK}${input.slice(at)}`;
}
