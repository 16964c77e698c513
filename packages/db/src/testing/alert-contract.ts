// Test-only: the alert repositories (channels, history, de-duplication look-ups), one suite run on every database.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DbClient } from '../client';
import type { Provider } from '../provider';
import {
  alertSentSince,
  countSuppressedSinceSent,
  createAlertChannel,
  deleteAlertChannel,
  findAlertChannel,
  insertAlertHistory,
  listAlertChannels,
  listAlertHistoryPage,
  updateAlertChannel,
  type NewAlertHistoryRow,
} from '../repositories/alerts';
import { createTestDatabase, type TestDatabase } from './databases';

const T0 = new Date('2026-03-10T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

function history(over: Partial<NewAlertHistoryRow>): NewAlertHistoryRow {
  return {
    time: T0,
    channelId: 1,
    channelName: 'ops',
    event: 'group.exhausted',
    severity: 'critical',
    subject: 'group:a',
    message: 'no key',
    status: 'sent',
    suppressed: 0,
    statusCode: 200,
    error: null,
    details: { suppressed: 0 },
    ...over,
  };
}

/** Registers the alert repository scenarios for one database provider. */
export function alertRepositoryContract(provider: Provider): void {
  describe(`alert repositories on ${provider}`, () => {
    let t: TestDatabase;
    let db: DbClient;
    beforeAll(async () => {
      t = await createTestDatabase(provider);
      db = t.conn.prisma;
    });
    afterAll(() => t?.close());
    beforeEach(async () => {
      await db.$transaction([db.alertHistory.deleteMany(), db.alertChannel.deleteMany()]);
    });

    it('creates, lists, patches and deletes channels, events read back typed', async () => {
      const long = `kw1:${'x'.repeat(3000)}`;
      const a = await createAlertChannel(db, {
        name: 'ops',
        type: 'telegram',
        urlSealed: long,
        secretSealed: null,
        chatId: '-100123',
        events: ['key.invalid', 'group.exhausted'],
        enabled: true,
      });
      expect(await findAlertChannel(db, a.id)).toMatchObject({
        name: 'ops',
        type: 'telegram',
        urlSealed: long,
        secretSealed: null,
        chatId: '-100123',
        events: ['key.invalid', 'group.exhausted'],
        enabled: true,
      });
      await expect(createAlertChannel(db, { ...a, events: ['task.finished'] })).rejects.toMatchObject({
        code: 'P2002',
      });
      const patched = await updateAlertChannel(db, a.id, {
        enabled: false,
        secretSealed: 'kw1:s',
        events: ['keys.restored'],
      });
      expect(patched).toMatchObject({
        enabled: false,
        secretSealed: 'kw1:s',
        events: ['keys.restored'],
        urlSealed: long,
      });
      expect(await updateAlertChannel(db, a.id + 100, { enabled: true })).toBeNull();
      expect((await listAlertChannels(db)).map((c) => c.id)).toEqual([a.id]);
      expect(await deleteAlertChannel(db, a.id)).toBe(true);
      expect(await deleteAlertChannel(db, a.id)).toBe(false);
    });

    it('pages the history newest first and answers the de-duplication look-ups', async () => {
      await insertAlertHistory(db, history({ time: at(0), status: 'sent' }));
      await insertAlertHistory(db, history({ time: at(1), status: 'suppressed', statusCode: null }));
      await insertAlertHistory(db, history({ time: at(2), status: 'suppressed', statusCode: null }));
      await insertAlertHistory(db, history({ time: at(3), subject: 'group:b', details: null }));
      const key = { channelId: 1, event: 'group.exhausted' as const, subject: 'group:a' };
      expect(await alertSentSince(db, { ...key, since: at(-5) })).toBe(true);
      expect(await alertSentSince(db, { ...key, since: at(0.5) })).toBe(false);
      expect(await alertSentSince(db, { ...key, event: 'group.storm', since: at(-5) })).toBe(false);
      expect(await countSuppressedSinceSent(db, key)).toBe(2);
      await insertAlertHistory(db, history({ time: at(20), status: 'sent', suppressed: 2 }));
      expect(await countSuppressedSinceSent(db, key)).toBe(0);
      expect(await countSuppressedSinceSent(db, { ...key, subject: 'group:none' })).toBe(0);

      const page = await listAlertHistoryPage(db, { skip: 0, take: 2 });
      expect(page.total).toBe(5);
      expect(page.rows.map((r) => [r.subject, r.status, r.suppressed])).toEqual([
        ['group:a', 'sent', 2],
        ['group:b', 'sent', 0],
      ]);
      expect(page.rows[1]?.details).toBeNull();
      const last = await listAlertHistoryPage(db, { skip: 4, take: 2 });
      expect(last.rows.map((r) => r.time.toISOString())).toEqual([at(0).toISOString()]);
      expect(last.rows[0]?.details).toEqual({ suppressed: 0 });
    });
  });
}
