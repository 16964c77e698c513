import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, send, startGateway } from './harness';
import type { TestGateway } from './harness';

const WRONG = 'kw-proxy-test-key-5f1d2c3b4a6X';

describe('wrong proxy keys (issue 11 item 8, gateway side)', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [{ name: 'oa', upstreams: [fake.url], keys: ['sk-auth-fail-0001-abcdefgh'] }],
      settings: { requestLogging: 'errors' },
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    gw.records.length = 0;
    gw.logs.length = 0;
    gw.authFailures.length = 0;
  });

  it('50 guesses from one client: counted by group, one sampled log line with the client IP, never the key', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody(), {
        authorization: `Bearer ${WRONG}`,
      });
      expect(res.status).toBe(401);
    }
    expect(gw.authFailures).toEqual(Array.from({ length: 50 }, () => 'oa'));
    const lines = gw.logs.filter((l) => l.level === 'warn');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.obj).toMatchObject({ group: 'oa', reason: 'invalid', suppressed: 0 });
    expect((lines[0]?.obj as { clientIp: string }).clientIp).toMatch(/127\.0\.0\.1/);
    // Refusals are request-log records (the dashboard counts them), with no key and no attempt.
    const records = await gw.waitForRecords(50);
    expect(records.every((r) => r.statusCode === 401 && r.attempts.length === 0 && r.keyId === null)).toBe(
      true,
    );
    expect(records.every((r) => r.proxyKeyMasked === null)).toBe(true);
    const everything = JSON.stringify(gw.logs) + JSON.stringify(records);
    expect(everything).not.toContain(WRONG);
    expect(everything).not.toContain(WRONG.slice(0, 5));
    expect(fake.requests).toHaveLength(0);
  });

  it('a missing key counts too, and a key in ?key= never reaches the log or the record path', async () => {
    expect((await send(`${gw.base('oa')}/v1/models`)).status).toBe(401);
    expect((await send(`${gw.base('oa')}/v1/models?key=${WRONG}&x=1`)).status).toBe(401);
    expect(gw.authFailures).toEqual(['oa', 'oa']);
    const records = await gw.waitForRecords(2);
    expect(records.map((r) => r.error)).toEqual(['Missing proxy key', 'Invalid proxy key']);
    expect(JSON.stringify(records) + JSON.stringify(gw.logs)).not.toContain(WRONG);
  });
});
