import { afterAll, describe, expect, it } from 'vitest';
import { readGptLoad } from './read';
import {
  collectGptLoadRows,
  gptLoadFixtureScope,
  type GptLoadFixture,
  type GptLoadFixtureOptions,
} from './testing';
import { isGptLoadReadError, type GptLoadSnapshot } from './types';

const KEY = 'gpt-load-fixture-key-2025';
const scope = gptLoadFixtureScope();
afterAll(() => scope.cleanupAll());
const fixture = (opts: GptLoadFixtureOptions) => scope.make(opts);

/** Every table equal to what the fixture wrote (logs compared in id order: collations may differ). */
async function expectRoundTrip(snap: GptLoadSnapshot, f: GptLoadFixture) {
  expect(snap.encrypted).toBe(f.expected.encrypted);
  expect(snap.settings).toEqual(f.expected.settings);
  expect(snap.groups).toEqual(f.expected.groups);
  expect(snap.subGroups).toEqual(f.expected.subGroups);
  expect(snap.keys).toEqual(f.expected.keys);
  expect(snap.issues).toEqual([]);
  const rows = await collectGptLoadRows(snap);
  const byId = <T extends { id: string }>(a: T[]) => [...a].sort((x, y) => (x.id < y.id ? -1 : 1));
  expect(byId(rows.requestLogs)).toEqual(byId(f.expected.requestLogs));
  expect(rows.hourlyStats).toEqual(f.expected.hourlyStats);
}

describe.each(['mysql', 'postgres'] as const)('readGptLoad from %s', (dialect) => {
  it('round-trips a plaintext database given as a URL', async () => {
    const f = await fixture({ dialect });
    const snap = await readGptLoad(f.from);
    expect(snap.source.kind).toBe(dialect);
    await expectRoundTrip(snap, f);
  });

  it("round-trips an encrypted database given as GPT-Load's own DATABASE_DSN", async () => {
    const f = await fixture({ dialect, encryptionKey: KEY, dsnStyle: 'gpt-load', legacy: true });
    expect(f.from).toMatch(dialect === 'mysql' ? /@tcp\(/ : /^postgresql:\/\//);
    const snap = await readGptLoad(f.from, { encryptionKey: KEY });
    expect(snap.keyCounts).toEqual({ ciphertext: 14, plaintext: 1, undecryptable: 1 });
    await expectRoundTrip(snap, f);
  });

  it('refuses a wrong encryption key and a missing one', async () => {
    const f = await fixture({ dialect, encryptionKey: KEY, logs: 0 });
    const wrong = await readGptLoad(f.from, { encryptionKey: 'wrong' }).catch((e: unknown) => e);
    expect(isGptLoadReadError(wrong, 'wrong_encryption_key')).toBe(true);
    const missing = await readGptLoad(f.from).catch((e: unknown) => e);
    expect(isGptLoadReadError(missing, 'encryption_key_required')).toBe(true);
  });
});

describe('MySQL datetimes', () => {
  it("reads naive DATETIMEs in the DSN's loc zone", async () => {
    const f = await fixture({
      dialect: 'mysql',
      mysqlTimeZone: 'Asia/Shanghai',
      dsnStyle: 'gpt-load',
      logs: 3,
    });
    expect(f.from).toContain('loc=Asia%2FShanghai');
    const snap = await readGptLoad(f.from);
    await expectRoundTrip(snap, f);
  });

  it('says which server it could not reach, without the password', async () => {
    const err = await readGptLoad('root:s3cret@tcp(127.0.0.1:1)/gpt-load').catch((e: unknown) => e);
    expect(isGptLoadReadError(err, 'source_unavailable')).toBe(true);
    expect((err as Error).message).toContain('root:***@tcp(127.0.0.1:1)/gpt-load');
    expect((err as Error).message).not.toContain('s3cret');
  });
});
