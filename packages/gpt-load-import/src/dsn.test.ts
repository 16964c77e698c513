import { describe, expect, it } from 'vitest';
import { maskUrl, parseGptLoadDsn } from './dsn';

describe('parseGptLoadDsn', () => {
  it("treats GPT-Load's default and any other non-URL text as a SQLite path", () => {
    expect(parseGptLoadDsn('./data/gpt-load.db')).toEqual({
      kind: 'sqlite',
      path: './data/gpt-load.db',
      label: './data/gpt-load.db',
    });
    expect(parseGptLoadDsn('/app/data/gpt-load.db').kind).toBe('sqlite');
    expect(parseGptLoadDsn('sqlite:///srv/gpt-load.db')).toMatchObject({
      kind: 'sqlite',
      path: '/srv/gpt-load.db',
    });
    expect(parseGptLoadDsn('file:gpt-load.db')).toMatchObject({ kind: 'sqlite', path: 'gpt-load.db' });
    // GPT-Load does not recognise libpq key=value strings either: it opens them as a file name.
    expect(parseGptLoadDsn('host=db user=postgres dbname=gptload').kind).toBe('sqlite');
  });

  it("parses the Go MySQL driver DSN of GPT-Load's .env.example", () => {
    const d = parseGptLoadDsn(
      'root:123456@tcp(mysql:3306)/gpt-load?charset=utf8mb4&parseTime=True&loc=Local',
    );
    expect(d).toEqual({
      kind: 'mysql',
      host: 'mysql',
      port: 3306,
      user: 'root',
      password: '123456',
      database: 'gpt-load',
      loc: 'Local',
      ssl: false,
      label: 'root:***@tcp(mysql:3306)/gpt-load',
    });
  });

  it('keeps @, : and / inside a Go DSN password, and reads IANA loc, IPv6 and default ports', () => {
    const d = parseGptLoadDsn('gl:p@ss:w/rd@tcp([::1])/db?loc=Asia%2FShanghai&tls=true');
    expect(d).toMatchObject({ kind: 'mysql', user: 'gl', password: 'p@ss:w/rd', host: '::1', port: 3306 });
    expect(d).toMatchObject({ database: 'db', loc: 'Asia/Shanghai', ssl: true });
    expect(d.label).not.toContain('p@ss');
    expect(parseGptLoadDsn('root@tcp(127.0.0.1:3307)/x')).toMatchObject({
      user: 'root',
      port: 3307,
      label: 'root@tcp(127.0.0.1:3307)/x',
    });
    expect(parseGptLoadDsn('u:p@unix(/run/mysqld.sock)/x')).toMatchObject({ socketPath: '/run/mysqld.sock' });
  });

  it('parses mysql:// and mariadb:// URLs', () => {
    expect(parseGptLoadDsn('mysql://gl:s%40cret@db.internal:3307/gptload?loc=UTC')).toEqual({
      kind: 'mysql',
      host: 'db.internal',
      port: 3307,
      user: 'gl',
      password: 's@cret',
      database: 'gptload',
      loc: 'UTC',
      ssl: false,
      label: 'mysql://gl:***@db.internal:3307/gptload?loc=UTC',
    });
    expect(parseGptLoadDsn('mariadb://root@localhost/g')).toMatchObject({
      kind: 'mysql',
      port: 3306,
      user: 'root',
    });
  });

  it('parses postgres:// and postgresql:// URLs, masking the password', () => {
    const d = parseGptLoadDsn('postgres://postgres:hunter2@pg:5432/gpt-load?sslmode=disable');
    expect(d).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://postgres:hunter2@pg:5432/gpt-load?sslmode=disable',
      label: 'postgres://postgres:***@pg:5432/gpt-load?sslmode=disable',
    });
    expect(parseGptLoadDsn('postgresql://u@h/d').kind).toBe('postgres');
  });

  it('masks passwords that contain an unencoded @, and leaves password-less URLs alone', () => {
    expect(maskUrl('postgres://u:p@ss@h/d')).toBe('postgres://u:***@h/d');
    expect(maskUrl('postgres://u@h/d?x=a@b')).toBe('postgres://u@h/d?x=a@b');
    expect(maskUrl('./data/gpt-load.db')).toBe('./data/gpt-load.db');
  });

  it('rejects an empty --from', () => {
    expect(() => parseGptLoadDsn('  ')).toThrow(/No GPT-Load database/);
  });
});
