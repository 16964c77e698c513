import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mariadbUrl, postgresSchemaFromUrl, providerFromUrl, sqlitePathFromUrl } from './provider';

describe('providerFromUrl', () => {
  it.each([
    ['file:./data/keyway.db', 'sqlite'],
    ['postgres://u@h/db', 'postgresql'],
    ['postgresql://u@h:5432/db?schema=x', 'postgresql'],
    ['mysql://root@127.0.0.1:3306/keyway', 'mysql'],
    ['MariaDB://root@h/keyway', 'mysql'],
  ])('%s → %s', (url, provider) => {
    expect(providerFromUrl(url)).toBe(provider);
  });

  it('rejects other schemes without echoing the URL (it may hold a password)', () => {
    expect(() => providerFromUrl('sqlserver://sa:secret@h/db')).toThrow(
      /unsupported database URL scheme "sqlserver:"/,
    );
    expect(() => providerFromUrl('sqlserver://sa:secret@h/db')).not.toThrow(/secret/);
    expect(() => providerFromUrl('./keyway.db')).toThrow(/no scheme/);
  });
});

describe('sqlitePathFromUrl', () => {
  it('resolves relative paths from the working directory and accepts URL forms', () => {
    expect(sqlitePathFromUrl('file:./data/k.db')).toBe(resolve('data/k.db'));
    expect(sqlitePathFromUrl('file:/var/lib/k.db')).toBe('/var/lib/k.db');
    expect(sqlitePathFromUrl('file:///var/lib/k%20b.db?connection_limit=1')).toBe('/var/lib/k b.db');
    expect(sqlitePathFromUrl('file::memory:')).toBe(':memory:');
    expect(() => sqlitePathFromUrl('file:')).toThrow(/names no file/);
  });
});

describe('driver URL helpers', () => {
  it('rewrites mysql:// for the mariadb driver and keeps options', () => {
    expect(mariadbUrl('mysql://root:p%40ss@h:3306/k?ssl=true', { multipleStatements: 'true' })).toBe(
      'mariadb://root:p%40ss@h:3306/k?ssl=true&multipleStatements=true',
    );
  });

  it('reads the PostgreSQL schema parameter', () => {
    expect(postgresSchemaFromUrl('postgresql://u@h/db?schema=keyway')).toBe('keyway');
    expect(postgresSchemaFromUrl('postgresql://u@h/db')).toBeUndefined();
  });
});
