import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_KEY, send, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-models-aaaaaaaaaaaaaaaa0001';

describe('model-list interception', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream({
      openaiModels: ['gpt-4o-mini', 'gpt-4.1'],
      geminiModels: ['gemini-2.0-flash'],
    });
    gw = await startGateway({
      groups: [
        { name: 'plain', upstreams: [fake.url], keys: [KEY] },
        {
          name: 'merge',
          upstreams: [fake.url],
          keys: [KEY],
          modelRedirects: { 'team-fast': 'gpt-4o-mini', 'gpt-4.1': 'gpt-4o-mini' },
        },
        {
          name: 'strict',
          upstreams: [fake.url],
          keys: [KEY],
          modelRedirects: { 'team-fast': 'gpt-4o-mini' },
          modelRedirectStrict: true,
        },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: ['AIzaModelsKey000000000000000000000000000'],
          modelRedirects: { 'team-gem': 'gemini-2.0-flash' },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const list = async (group: string, path = '/v1/models', headers: Record<string, string> = {}) => {
    const res = await send(`${gw.base(group)}${path}`, {
      headers: { authorization: `Bearer ${PROXY_KEY}`, ...headers },
    });
    return {
      status: res.status,
      body: res.json<{ data?: Array<{ id: string }>; models?: Array<{ name: string }> }>(),
    };
  };

  it('passes the upstream list through untouched for a group without redirects', async () => {
    const r = await list('plain');
    expect(r.body.data?.map((m) => m.id)).toEqual(['gpt-4o-mini', 'gpt-4.1']);
  });

  it('adds the redirected names to the upstream list, without duplicates', async () => {
    const r = await list('merge');
    expect(r.status).toBe(200);
    expect(r.body.data?.map((m) => m.id)).toEqual(['gpt-4o-mini', 'gpt-4.1', 'team-fast']);
  });

  it('lists only the redirected names in strict mode, also from a gzip-compressed upstream answer', async () => {
    fake.options.gzip = true;
    try {
      const r = await list('strict', '/v1/models', { 'accept-encoding': 'gzip' });
      expect(r.status).toBe(200);
      expect(r.body.data?.map((m) => m.id)).toEqual(['team-fast']);
    } finally {
      fake.options.gzip = false;
    }
  });

  it("merges Gemini's native model list on its first page", async () => {
    const r = await list('gem', '/v1beta/models');
    const names = r.body.models?.map((m) => m.name) ?? [];
    expect(names).toContain('models/gemini-2.0-flash');
    expect(names).toContain('models/team-gem');
  });
});
