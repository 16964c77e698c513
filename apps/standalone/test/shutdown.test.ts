import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'shutdown-admin-Key-3e8d1c7b5a90';
const PROXY_KEY = 'shutdown-proxy-Key-8a7b6c5d4e3f';

describe('graceful shutdown', () => {
  let fake: FakeUpstream;
  const tmp = tempDir('shutdown');

  beforeAll(async () => {
    // Slow streams: 10 chunks, 150 ms apart, so SIGTERM lands mid-stream.
    fake = await startFakeUpstream({
      responseChunks: Array.from({ length: 10 }, (_, i) => `c${i} `),
      streamChunkDelayMs: 150,
    });
  });
  afterAll(async () => {
    await fake.close();
    tmp.cleanup();
  });

  it('finishes an in-flight stream after SIGTERM, refuses new connections, then exits 0', async () => {
    const app = await startStandalone(tmp.dir, { AUTH_KEY, SHUTDOWN_TIMEOUT_SECONDS: '20' });
    const admin = adminClient(app.url, AUTH_KEY);
    const g = await admin.post('/groups', {
      name: 'slow',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
      proxyKeys: [PROXY_KEY],
    });
    await admin.post(`/groups/${g.body.id as number}/keys`, {
      keys: ['sk-shutdown-upstream-key-000000000001'],
    });
    const client = new OpenAI({ baseURL: `${app.url}/proxy/slow/v1`, apiKey: PROXY_KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const text: string[] = [];
    const consumed = (async () => {
      for await (const chunk of stream) text.push(chunk.choices[0]?.delta.content ?? '');
    })();
    await new Promise((r) => setTimeout(r, 300));
    const exit = app.proc.stop('SIGTERM', 15_000);
    await app.proc.waitForLine(/shutting down/);
    await expect(fetch(`${app.url}/health`)).rejects.toThrow();
    await consumed;
    expect(text.join('')).toBe(Array.from({ length: 10 }, (_, i) => `c${i} `).join(''));
    expect(await exit).toBe(0);
    expect(app.proc.stdout).toMatch(/stopped/);
  });
});
