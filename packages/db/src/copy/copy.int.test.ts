import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../client';
import { Prisma } from '../generated/sqlite/client';
import { applyMigrations } from '../migrate';
import {
  createTempMysqlDatabase,
  createTempPostgresDatabase,
  serviceAvailable,
  type TempDatabase,
} from '../testing/services';
import { CopyRefusedError } from './checks';
import { copyDatabase, type CopySummary } from './copy';
import { PROGRESS_TABLE } from './endpoint';
import { delegate, fillEveryModel, snapshotEveryModel } from './fixture';
import { copyModels } from './model';

const pgUp = await serviceAvailable('postgresql');
const myUp = await serviceAvailable('mysql');

const dir = mkdtempSync(join(tmpdir(), 'keyway-copy-'));
const temps: TempDatabase[] = [];
let n = 0;

/** A new, empty (unmigrated) database on `provider`. */
async function emptyDb(provider: 'sqlite' | 'postgresql' | 'mysql'): Promise<string> {
  if (provider === 'sqlite') return `file:${join(dir, `db-${++n}.db`)}`;
  const temp = await (provider === 'postgresql' ? createTempPostgresDatabase() : createTempMysqlDatabase());
  temps.push(temp);
  return temp.url;
}

async function filledSqlite(logs: number): Promise<string> {
  const url = await emptyDb('sqlite');
  await applyMigrations(url);
  await fillEveryModel(url, logs);
  return url;
}

async function counts(url: string): Promise<Record<string, number>> {
  const conn = createPrismaClient(url);
  try {
    const out: Record<string, number> = {};
    for (const m of copyModels()) out[m.model] = await delegate(conn.prisma, m.model).count();
    return out;
  } finally {
    await conn.close();
  }
}

afterAll(async () => {
  await Promise.allSettled(temps.map((t) => t.drop()));
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!pgUp || !myUp)('db:copy', { timeout: 120_000 }, () => {
  let source: string;
  let original: Awaited<ReturnType<typeof snapshotEveryModel>>;

  beforeAll(async () => {
    source = await filledSqlite(1234);
    original = await snapshotEveryModel(source);
  });

  it('the fixture fills every model of the schema, so a model the copy skipped would show', () => {
    const models = Object.values(Prisma.ModelName);
    expect(copyModels().map((m) => m.model)).toEqual(models);
    for (const m of models) expect(original[m]?.length, m).toBeGreaterThan(0);
  });

  it('round-trips SQLite → PostgreSQL → MySQL → SQLite with every row equal', async () => {
    const pgUrl = await emptyDb('postgresql');
    const myUrl = await emptyDb('mysql');
    const back = await emptyDb('sqlite');
    const lines: string[] = [];
    const first = await copyDatabase({ from: source, to: pgUrl, batchSize: 100, log: (l) => lines.push(l) });
    expect(first.migrationsApplied.length).toBeGreaterThan(0);
    expect(first.tables.map((t) => t.model).sort()).toEqual(Object.values(Prisma.ModelName).sort());
    for (const t of first.tables) expect(t.rows, t.table).toBe(t.sourceRows);
    expect(lines.some((l) => /^request_logs: 1234 row\(s\) copied/.test(l))).toBe(true);
    expect(await snapshotEveryModel(pgUrl)).toEqual(original);

    await copyDatabase({ from: pgUrl, to: myUrl, batchSize: 77 });
    expect(await snapshotEveryModel(myUrl)).toEqual(original);
    await copyDatabase({ from: myUrl, to: back });
    expect(await snapshotEveryModel(back)).toEqual(original);
  });

  it.each(['postgresql', 'mysql'] as const)(
    'moves %s autoincrement counters past the copied ids, so new rows insert',
    async (provider) => {
      const target = await emptyDb(provider);
      await copyDatabase({ from: source, to: target });
      const conn = createPrismaClient(target);
      try {
        const maxKey = Math.max(...(original.ApiKey ?? []).map((r) => Number(r.id)));
        const group = await conn.prisma.group.findFirstOrThrow({ where: { name: 'claude' } });
        const key = await conn.prisma.apiKey.create({
          data: { groupId: group.id, keyValue: 'new', keyHash: 'e'.repeat(64), keyMasked: 'n' },
        });
        expect(key.id).toBe(maxKey + 1);
        const g = await conn.prisma.group.create({
          data: {
            name: 'after-copy',
            channel: 'openai',
            upstreams: [],
            proxyKeys: [],
            paramOverrides: {},
            modelRedirects: {},
            headerRules: [],
            config: {},
          },
        });
        expect(g.id).toBe(Math.max(...(original.Group ?? []).map((r) => Number(r.id))) + 1);
      } finally {
        await conn.close();
      }
    },
  );

  it.each(['postgresql', 'mysql'] as const)(
    'an interrupted copy to %s goes on where it stopped, with no duplicate and nothing missing',
    async (provider) => {
      const target = await emptyDb(provider);
      let batches = 0;
      await expect(
        copyDatabase({
          from: source,
          to: target,
          batchSize: 50,
          onBatch: () => {
            if (++batches === 12) throw new Error('simulated crash');
          },
        }),
      ).rejects.toThrow('simulated crash');
      const partial = await counts(target);
      const total = Object.values(partial).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(0);
      expect(partial.RequestLog).toBeLessThan(1234);

      const lines: string[] = [];
      const resumed = await copyDatabase({
        from: source,
        to: target,
        batchSize: 50,
        log: (l) => lines.push(l),
      });
      expect(resumed.resumed).toBe(true);
      expect(lines.join('\n')).toMatch(/going on from where it stopped/);
      // Only what the first run had not committed.
      const all = Object.values(await counts(source)).reduce((a, b) => a + b, 0);
      expect(resumed.copied).toBe(all - total);
      expect(await snapshotEveryModel(target)).toEqual(original);

      const again: CopySummary = await copyDatabase({ from: source, to: target });
      expect(again.copied).toBe(0);
      expect(await snapshotEveryModel(target)).toEqual(original);
    },
  );

  it('drops the NUL characters PostgreSQL cannot store, in text and in JSON, and says so', async () => {
    const from = await filledSqlite(1);
    const conn = createPrismaClient(from);
    await conn.prisma.auditLog.create({
      data: { action: 'nul', target: 'a\u0000b', details: { 'k\u0000': ['x\u0000y'] } },
    });
    await conn.close();
    const target = await emptyDb('postgresql');
    const lines: string[] = [];
    const summary = await copyDatabase({ from, to: target, log: (l) => lines.push(l) });
    expect(summary.nulStripped).toBe(2);
    expect(lines.join('\n')).toMatch(/2 value\(s\) lost NUL characters/);
    const pg = createPrismaClient(target);
    try {
      const row = await pg.prisma.auditLog.findFirstOrThrow({ where: { action: 'nul' } });
      expect(row.target).toBe('ab');
      expect(row.details).toEqual({ k: ['xy'] });
    } finally {
      await pg.close();
    }
  });

  it('refuses a target that already holds other data, and writes nothing', async () => {
    const target = await emptyDb('postgresql');
    await applyMigrations(target);
    const conn = createPrismaClient(target);
    try {
      await conn.prisma.setting.create({ data: { key: 'encryptionVerifier', value: '{"mode":"plain"}' } });
      await expect(copyDatabase({ from: source, to: target })).rejects.toThrow(
        /already holds data: settings \(1 row\(s\)\)/,
      );
      expect(await conn.prisma.setting.count()).toBe(1);
      expect(await conn.prisma.group.count()).toBe(0);
      const progress = await conn.prisma.$queryRawUnsafe<unknown[]>(
        `SELECT 1 FROM information_schema.tables WHERE table_name = '${PROGRESS_TABLE}'`,
      );
      expect(progress).toEqual([]);
    } finally {
      await conn.close();
    }
  });

  it('refuses to resume into a copy of another database', async () => {
    const target = await emptyDb('mysql');
    await expect(
      copyDatabase({
        from: source,
        to: target,
        batchSize: 10,
        onBatch: ({ batch }) => {
          if (batch === 2) throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    const other = await emptyDb('sqlite');
    await applyMigrations(other);
    await fillEveryModel(other, 3);
    const conn = createPrismaClient(other);
    await conn.prisma.setting.update({ where: { key: 'unicode' }, data: { value: 'changed' } });
    await conn.close();
    const before = await counts(target);
    await expect(copyDatabase({ from: other, to: target, batchSize: 10 })).rejects.toBeInstanceOf(
      CopyRefusedError,
    );
    expect(await counts(target)).toEqual(before);
  });

  it('refuses to copy a database onto itself, however the URL is spelled', async () => {
    await expect(copyDatabase({ from: source, to: source.replace('file:', 'file://') })).rejects.toThrow(
      /same database/,
    );
    const pgUrl = await emptyDb('postgresql');
    await expect(copyDatabase({ from: pgUrl, to: pgUrl.replace('127.0.0.1', 'localhost') })).rejects.toThrow(
      /same database/,
    );
  });

  it('refuses a source without the Keyway schema, and a SQLite source that does not exist', async () => {
    const target = await emptyDb('sqlite');
    await expect(copyDatabase({ from: await emptyDb('postgresql'), to: target })).rejects.toThrow(
      /holds no Keyway schema/,
    );
    await expect(copyDatabase({ from: `file:${join(dir, 'missing.db')}`, to: target })).rejects.toThrow(
      /no SQLite database/,
    );
  });
});
