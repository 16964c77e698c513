import { existsSync, realpathSync } from 'node:fs';
import { postgresSchemaFromUrl, providerFromUrl, sqlitePathFromUrl } from '../provider';

const DEFAULT_PORTS: Record<string, string> = { postgresql: '5432', mysql: '3306' };
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Where a database URL points, spelled one way: the SQLite file's real path, or server, port, database (and
 * PostgreSQL schema). Two URLs with the same identity are the same database, however they are written.
 */
export function databaseIdentity(url: string): string {
  const provider = providerFromUrl(url);
  if (provider === 'sqlite') {
    const path = sqlitePathFromUrl(url);
    return `sqlite:${path !== ':memory:' && existsSync(path) ? realpathSync(path) : path}`;
  }
  const u = new URL(url.trim());
  const host = LOOPBACK.has(u.hostname.toLowerCase()) ? 'loopback' : u.hostname.toLowerCase();
  const port = u.port || DEFAULT_PORTS[provider];
  const schema = provider === 'postgresql' ? (postgresSchemaFromUrl(url) ?? 'public') : '';
  return `${provider}://${host}:${port}${decodeURIComponent(u.pathname)}${schema ? `?schema=${schema}` : ''}`;
}

/** The URL for messages: a server URL without its password and query string, a SQLite URL as its file path. */
export function describeDatabase(url: string): string {
  const provider = providerFromUrl(url);
  if (provider === 'sqlite') return sqlitePathFromUrl(url);
  const u = new URL(url.trim());
  if (u.password) u.password = '***';
  u.search = '';
  return u.toString();
}
