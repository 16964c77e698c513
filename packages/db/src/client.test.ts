import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from './client';
import { applyMigrations } from './migrate';
import { Prisma } from './index';
import { exerciseClient } from './testing/scenario';

const tmp = mkdtempSync(join(tmpdir(), 'keyway-client-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('createPrismaClient on SQLite', () => {
  it('reads and writes every kind of column, enforces the unique and foreign keys', async () => {
    const url = `file:${join(tmp, 'nested', 'keyway.db')}`;
    await applyMigrations(url);
    const db = createPrismaClient(url);
    try {
      expect(db.provider).toBe('sqlite');
      await exerciseClient(db.prisma);
    } finally {
      await db.close();
    }
  });

  it('reports errors with the shared Prisma error classes', async () => {
    const url = `file:${join(tmp, 'errors.db')}`;
    await applyMigrations(url);
    const db = createPrismaClient(url);
    try {
      const data = { key: 'k', value: '{}' };
      await db.prisma.setting.create({ data });
      const error: unknown = await db.prisma.setting.create({ data }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    } finally {
      await db.close();
    }
  });

  it('rejects an unsupported URL before touching anything', () => {
    expect(() => createPrismaClient('mongodb://localhost/keyway')).toThrow(/unsupported database URL/);
  });
});
