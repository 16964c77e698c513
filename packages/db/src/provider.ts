import { isAbsolute, resolve } from 'node:path';

/** The database engines Keyway supports, spelled as Prisma's `provider`. */
export type Provider = 'sqlite' | 'postgresql' | 'mysql';

/** Every supported provider, e.g. for copying each migrations folder into a bundle. */
export const PROVIDERS: readonly Provider[] = ['sqlite', 'postgresql', 'mysql'];

const SCHEMES: Record<string, Provider> = {
  'file:': 'sqlite',
  'postgres:': 'postgresql',
  'postgresql:': 'postgresql',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
};

/** Picks the provider from a database URL's scheme; throws a readable error for anything else. */
export function providerFromUrl(url: string): Provider {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url.trim())?.[0].toLowerCase();
  const provider = scheme === undefined ? undefined : SCHEMES[scheme];
  if (provider) return provider;
  // The URL may carry a password, so only its scheme is echoed back.
  throw new Error(
    `unsupported database URL ${scheme ? `scheme "${scheme}"` : '(no scheme)'}: use file:./path/to.db (SQLite), ` +
      'postgresql://… (PostgreSQL) or mysql://… / mariadb://… (MySQL, MariaDB)',
  );
}

/**
 * The SQLite file a `file:` URL names, absolute (relative paths are taken from the working directory, as Prisma
 * does), or ':memory:'. Accepts `file:./x.db`, `file:/abs/x.db` and `file:///abs/x.db`; a query string such as
 * `?connection_limit=1` is ignored.
 */
export function sqlitePathFromUrl(url: string): string {
  if (providerFromUrl(url) !== 'sqlite') throw new Error('not a SQLite (file:) URL');
  let path = url.trim().slice('file:'.length);
  const query = path.indexOf('?');
  if (query >= 0) path = path.slice(0, query);
  if (path.startsWith('//')) path = path.slice(2);
  path = decodeURIComponent(path);
  if (path === '') throw new Error('the SQLite URL names no file: use file:./path/to.db');
  if (path === ':memory:') return path;
  return isAbsolute(path) ? path : resolve(process.cwd(), path);
}

/**
 * A mysql:// or mariadb:// URL in the form the mariadb driver parses (it only knows `mariadb://`), with extra
 * driver options added to the query string. Options already in the URL are kept, so users can pass any of the
 * driver's settings (ssl, connectTimeout, …) there.
 */
export function mariadbUrl(url: string, extra: Record<string, string> = {}): string {
  if (providerFromUrl(url) !== 'mysql') throw new Error('not a MySQL (mysql:// or mariadb://) URL');
  const u = new URL(url.trim());
  u.protocol = 'mariadb:';
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}

/** The `?schema=` of a PostgreSQL URL (Prisma's convention for a non-default schema), if any. */
export function postgresSchemaFromUrl(url: string): string | undefined {
  return new URL(url.trim()).searchParams.get('schema') ?? undefined;
}
