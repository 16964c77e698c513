import { createMetrics } from '@keyway/observability';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../src/index';
import { accessKeySnapshot, chatBody, send, sendRaw, startGateway } from './harness';
import type { SimpleResponse, TestGateway } from './harness';

// Secrets an attacker or a careless operator might use: every one must resolve exactly, or not at all.
const UNICODE = 'kw-ak-ünïcødé-🔑-秘密-0123456789';
const LONG = `kw-ak-long-${'x9'.repeat(4000)}`;
const UNICODE_PROXY = 'kw-proxy-ключ-🗝️-0123456789abc';
const LONG_PROXY = `kw-proxy-long-${'y8'.repeat(4000)}`;
const PLAIN = 'kw-ak-plain-secret-0123456789ab';

describe('access-key and proxy-key secrets', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        {
          name: 'oa',
          channel: 'openai',
          upstreams: [fake.url],
          keys: ['sk-secrets-openai-aaaaaaaa0001'],
          proxyKeys: [UNICODE_PROXY, LONG_PROXY],
        },
      ],
      accessKeys: [
        accessKeySnapshot(1, 'unicode', UNICODE),
        accessKeySnapshot(2, 'long', LONG),
        accessKeySnapshot(3, 'plain', PLAIN, { limits: { rpm: 1 } }),
        accessKeySnapshot(4, 'revoked', `${PLAIN}-revoked`, { enabled: false }),
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

  const viaQuery = (secret: string): Promise<SimpleResponse> =>
    send(`${gw.base('oa')}/v1/chat/completions?key=${encodeURIComponent(secret)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
    });
  const viaBearer = (secret: string): Promise<SimpleResponse> =>
    send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
    });

  it('accepts unicode secrets exactly (access and proxy keys), and nothing near them', async () => {
    expect((await viaQuery(UNICODE)).status).toBe(200);
    expect((await viaQuery(UNICODE_PROXY)).status).toBe(200);
    const records = await gw.waitForRecords(2);
    expect(records.map((r) => r.accessKeyName)).toEqual(['unicode', null]);
    for (const near of [UNICODE.normalize('NFD'), `${UNICODE}\r\n`, `\n${UNICODE}`, UNICODE.slice(0, -1)])
      expect((await viaQuery(near)).status).toBe(401);
    expect((await viaQuery(`${UNICODE_PROXY}\r\n`)).status).toBe(401);
  });

  it('accepts very long secrets in a header (access and proxy keys)', async () => {
    expect((await viaBearer(LONG)).status).toBe(200);
    expect((await viaBearer(LONG_PROXY)).status).toBe(200);
    expect((await viaBearer(`${LONG}x`)).status).toBe(401);
  });

  it('refuses a header secret split by CR/LF (raw bytes) without serving or crashing', async () => {
    const body = JSON.stringify(chatBody());
    const raw = await sendRaw(
      gw.url,
      `POST /proxy/oa/v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${PLAIN.slice(0, 10)}\r\n ${PLAIN.slice(10)}`,
      body,
    );
    // Obsolete line folding is refused by node's parser (400) or arrives as a wrong key (401); never served.
    expect([400, 401]).toContain(raw.status);
    expect(fake.requests).toHaveLength(0);
    // The gateway still answers.
    expect((await viaBearer(LONG)).status).toBe(200);
  });

  it('never puts an access key’s secret in a record, a log line, an error or a metric', async () => {
    const revoked = `${PLAIN}-revoked`;
    const answers = [
      await viaBearer(PLAIN), // 200
      await viaBearer(PLAIN), // 429 (rpm 1)
      await viaBearer(revoked), // 401 disabled
      await viaQuery(UNICODE), // 200
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 429, 401, 200]);
    await gw.waitForRecords(4);
    const secrets = [PLAIN, revoked, UNICODE, encodeURIComponent(UNICODE)];
    const seen = [
      JSON.stringify(gw.records),
      JSON.stringify(gw.logs),
      JSON.stringify(gw.accessKeyRequests),
      ...answers.map((a) => a.text + JSON.stringify(a.headers)),
    ].join('\n');
    for (const s of secrets) expect(seen).not.toContain(s);
    // The records show who called by name, and the key only masked.
    expect(gw.records.map((r) => r.accessKeyName)).toEqual(['plain', 'plain', 'revoked', 'unicode']);
    expect(gw.records[0]?.requestPath).toBe('/v1/chat/completions');
    expect(gw.records[3]?.requestPath).toBe('/v1/chat/completions');
  });
});

describe('per-access-key metrics', () => {
  it('counts requests, tokens and cost by key name, with a bounded number of series', () => {
    const metrics = createMetrics();
    const m = createGatewayMetrics(metrics).gateway;
    const record = {
      statusCode: 200,
      promptTokens: 12,
      completionTokens: 30,
      costUsd: 0.0025,
    } as Parameters<NonNullable<typeof m.accessKeyRequest>>[1];
    m.accessKeyRequest?.('team-a', record);
    m.accessKeyRequest?.('team-a', {
      ...record,
      statusCode: 429,
      promptTokens: null,
      completionTokens: null,
      costUsd: null,
    });
    const text = metrics.render();
    expect(text).toContain('keyway_access_key_requests_total{access_key="team-a",status="2xx"} 1');
    expect(text).toContain('keyway_access_key_requests_total{access_key="team-a",status="4xx"} 1');
    expect(text).toContain('keyway_access_key_tokens_total{access_key="team-a",kind="prompt"} 12');
    expect(text).toContain('keyway_access_key_tokens_total{access_key="team-a",kind="completion"} 30');
    expect(text).toContain('keyway_access_key_cost_usd_total{access_key="team-a"} 0.0025');
    for (let i = 0; i < 1500; i++) m.accessKeyRequest?.(`key-${i}`, record);
    const series = metrics
      .render()
      .split('\n')
      .filter((l) => l.startsWith('keyway_access_key_requests_total{'));
    // team-a (2xx, 4xx), 999 more names, and one series for the rest.
    expect(series).toHaveLength(1002);
    expect(metrics.render()).toContain(
      'keyway_access_key_requests_total{access_key="__other__",status="2xx"} 501',
    );
  });
});
