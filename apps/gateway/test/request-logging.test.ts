import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway, withSettings } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-logging-aaaaaaaaaaaaaaa0001';

describe('request logging settings', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'g', upstreams: [fake.url], keys: [KEY] },
        {
          name: 'bodies',
          upstreams: [fake.url],
          keys: ['sk-logging-bodies-bbbbbbbbb0002'],
          config: { requestLogBodies: true },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
  });

  /** One success and one upstream 400, then waits until both finished. */
  async function okAndError(): Promise<void> {
    const done = gw.completed.length;
    expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(200);
    fake.setKeyBehaviour(KEY, { status: 400, message: 'bad request', times: 1 });
    expect((await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody())).status).toBe(400);
    await gw.waitForCompleted(done + 2);
  }

  it("'all' logs successes and failures", async () => {
    gw.reconfigure(withSettings(gw.snapshot, { requestLogging: 'all' }));
    await okAndError();
    expect(gw.records.map((r) => r.statusCode)).toEqual([200, 400]);
  });

  it("'errors' logs only failed requests", async () => {
    gw.reconfigure(withSettings(gw.snapshot, { requestLogging: 'errors' }));
    await okAndError();
    expect(gw.records.map((r) => r.statusCode)).toEqual([400]);
    expect(gw.records[0]?.success).toBe(false);
  });

  it("'off' logs nothing", async () => {
    gw.reconfigure(withSettings(gw.snapshot, { requestLogging: 'off' }));
    await okAndError();
    expect(gw.records).toHaveLength(0);
  });

  it('stores request bodies only for groups with requestLogBodies', async () => {
    gw.reconfigure(withSettings(gw.snapshot, { requestLogging: 'all' }));
    await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody({ user: 'marker-without-bodies' }));
    await postJson(`${gw.base('bodies')}/v1/chat/completions`, chatBody({ user: 'marker-with-bodies' }));
    const records = await gw.waitForRecords(2);
    expect(records.find((r) => r.groupName === 'g')?.requestBody).toBeNull();
    expect(records.find((r) => r.groupName === 'bodies')?.requestBody).toContain('marker-with-bodies');
  });

  it('a record describes the request: model, path, status, timing, key', async () => {
    gw.reconfigure(withSettings(gw.snapshot, { requestLogging: 'all' }));
    await postJson(`${gw.base('g')}/v1/chat/completions?trace=1`, chatBody({ model: 'gpt-4o' }));
    const [r] = await gw.waitForRecords(1);
    expect(r).toMatchObject({
      groupName: 'g',
      groupId: gw.groupId('g'),
      parentGroupName: null,
      model: 'gpt-4o',
      requestPath: '/v1/chat/completions?trace=1',
      statusCode: 200,
      success: true,
      stream: false,
      retries: 0,
      keyId: gw.keyId(KEY),
    });
    expect(r?.durationMs).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(r?.time ?? ''))).toBe(false);
  });
});
