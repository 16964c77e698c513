/**
 * `readGptLoad`: opens a GPT-Load 1.4.x database read-only, reads settings, groups, sub-groups and keys
 * (decrypting them), checks the encryption key before anything is returned, and hands back iterators for the
 * large log and stat tables.
 */
import { deriveGptLoadKey } from './crypto';
import { parseGptLoadDsn, sourceOf, type GptLoadDsn } from './dsn';
import { mapGroup, mapHourlyStat, mapKey, mapRequestLog, mapSetting, mapSubGroup, type ToDate } from './rows';
import type { OpenSource, SourceConnection } from './source/connection';
import { mysqlSource } from './source/mysql';
import { postgresSource } from './source/postgres';
import { sqliteSource } from './source/sqlite';
import {
  GptLoadReadError,
  type GptLoadKey,
  type GptLoadKeyEncoding,
  type GptLoadReadIssue,
  type GptLoadSnapshot,
  type ReadGptLoadOptions,
} from './types';
import { toNumber, type RawRow } from './values';

/** Tables every GPT-Load 1.x database has; without them it is not one. */
const REQUIRED_TABLES = ['system_settings', 'groups', 'api_keys'];
/** Rows per page when streaming logs and stats: bounded memory, few round trips. */
const PAGE_ROWS = 2000;

/** Reads a GPT-Load database given as a SQLite path, a URL or GPT-Load's own DATABASE_DSN. */
export async function readGptLoad(from: string, opts: ReadGptLoadOptions = {}): Promise<GptLoadSnapshot> {
  const dsn = parseGptLoadDsn(from);
  const open = openerFor(dsn, opts);
  const aesKey = opts.encryptionKey ? deriveGptLoadKey(opts.encryptionKey) : null;
  const conn = await open();
  try {
    const tables = await conn.tables();
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
    if (missing.length) {
      throw new GptLoadReadError(
        'not_gpt_load',
        `${dsn.label} is not a GPT-Load 1.x database (no ${missing.join(', ')} table)`,
      );
    }
    const issues: GptLoadReadIssue[] = [];
    const rows = (t: string) => conn.all(`SELECT * FROM ${conn.quote(t)} ORDER BY ${conn.quote('id')}`);
    const settings = (await rows('system_settings')).map(mapSetting);
    const groups = (await rows('groups')).map((r) => mapGroup(r, conn.toDate, (i) => issues.push(i)));
    const subGroups = tables.has('group_sub_groups') ? (await rows('group_sub_groups')).map(mapSubGroup) : [];
    const keys = (await rows('api_keys')).map((r) => mapKey(r, aesKey, conn.toDate));
    const keyCounts = countEncodings(keys);
    checkEncryptionKey(keyCounts, aesKey !== null, dsn.label);
    const counts = {
      requestLogs: tables.has('request_logs') ? await count(conn, 'request_logs') : 0,
      hourlyStats: tables.has('group_hourly_stats') ? await count(conn, 'group_hourly_stats') : 0,
    };
    return {
      source: sourceOf(dsn),
      encrypted: keyCounts.ciphertext > 0,
      settings,
      groups,
      subGroups,
      keys,
      keyCounts,
      issues,
      counts,
      requestLogs: () => pages(open, 'request_logs', (r, d) => mapRequestLog(r, aesKey, d)),
      hourlyStats: () => pages(open, 'group_hourly_stats', mapHourlyStat),
    };
  } finally {
    await conn.close();
  }
}

function openerFor(dsn: GptLoadDsn, opts: ReadGptLoadOptions): OpenSource {
  if (dsn.kind === 'sqlite') return sqliteSource(dsn);
  if (dsn.kind === 'mysql') return mysqlSource(dsn, opts.mysqlTimeZone);
  return postgresSource(dsn);
}

function countEncodings(keys: GptLoadKey[]): Record<GptLoadKeyEncoding, number> {
  const c = { ciphertext: 0, plaintext: 0, undecryptable: 0 };
  for (const k of keys) c[k.encoding]++;
  return c;
}

/**
 * The import must write nothing when the key is wrong, so this throws before the snapshot exists. With a key: when
 * it decrypts none of the ciphertext-shaped keys, or fewer than it fails on (a key that opens only a few legacy
 * rows is an old key, not GPT-Load's current one); a minority of undecryptable keys is a legacy database and is
 * reported per key. Without a key: when any key is encrypted.
 */
function checkEncryptionKey(c: Record<GptLoadKeyEncoding, number>, keyGiven: boolean, label: string): void {
  if (c.undecryptable === 0) return;
  const total = c.ciphertext + c.undecryptable;
  if (!keyGiven) {
    throw new GptLoadReadError(
      'encryption_key_required',
      `The keys in ${label} are encrypted (${c.undecryptable} of ${total + c.plaintext}): give GPT-Load's ENCRYPTION_KEY (--encryption-key)`,
    );
  }
  if (c.ciphertext === 0 || c.ciphertext < c.undecryptable) {
    throw new GptLoadReadError(
      'wrong_encryption_key',
      `The encryption key does not decrypt the keys in ${label} (${c.ciphertext} of ${total} encrypted keys): check that it is GPT-Load's ENCRYPTION_KEY; nothing was imported`,
    );
  }
}

async function count(conn: SourceConnection, table: string): Promise<number> {
  const [row] = await conn.all(`SELECT COUNT(*) AS n FROM ${conn.quote(table)}`);
  return toNumber(row?.n);
}

/** Keyset pagination by id on a connection of its own, closed when the consumer stops. */
async function* pages<T>(
  open: OpenSource,
  table: string,
  map: (r: RawRow, toDate: ToDate) => T,
): AsyncGenerator<T> {
  const conn = await open();
  try {
    if (!(await conn.tables()).has(table)) return; // older GPT-Load versions lack some tables
    const t = conn.quote(table);
    const id = conn.quote('id');
    let after: unknown = null;
    for (;;) {
      const rows =
        after === null
          ? await conn.all(`SELECT * FROM ${t} ORDER BY ${id} LIMIT ${PAGE_ROWS}`)
          : await conn.all(`SELECT * FROM ${t} WHERE ${id} > ? ORDER BY ${id} LIMIT ${PAGE_ROWS}`, [after]);
      for (const r of rows) yield map(r, conn.toDate);
      const last = rows.at(-1);
      if (rows.length < PAGE_ROWS || !last) return;
      after = last.id;
    }
  } finally {
    await conn.close();
  }
}
