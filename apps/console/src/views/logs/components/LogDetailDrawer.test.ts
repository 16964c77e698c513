import type { Attempt, RequestLog } from '@keyway/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mountWithApp, settle } from '../../../testing/mount';
import LogDetailDrawer from './LogDetailDrawer.vue';

vi.setConfig({ testTimeout: 20_000 });

function attempt(over: Partial<Attempt>): Attempt {
  return {
    keyId: 1,
    key: 'sk-a***0001',
    upstreamUrl: 'https://api.openai.com/v1/chat/completions',
    statusCode: 200,
    class: 'ok',
    durationMs: 120,
    error: null,
    ...over,
  };
}

function log(attempts: Attempt[]): RequestLog {
  return {
    id: 'log-1',
    requestId: 'req-1',
    time: '2026-01-01T00:00:00.000Z',
    groupId: 1,
    groupName: 'openai',
    parentGroupName: null,
    keyId: 1,
    model: 'smart',
    statusCode: 200,
    success: true,
    durationMs: 300,
    ttfbMs: 100,
    stream: false,
    retries: attempts.length - 1,
    attempts,
    error: null,
    clientIp: null,
    promptTokens: null,
    completionTokens: null,
    cachedTokens: null,
    costUsd: null,
    accessKeyId: null,
    accessKeyName: null,
    translatedFrom: null,
    key: 'sk-a***0001',
    proxyKey: null,
  };
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('LogDetailDrawer', () => {
  it('shows the model each attempt asked for and the egress proxy it left through, when known', async () => {
    mountWithApp(LogDetailDrawer, {
      props: {
        modelValue: log([
          attempt({
            statusCode: 0,
            class: 'proxy',
            model: 'gpt-4.1',
            proxy: 'http://…@proxy-a.example.com:3128',
          }),
          attempt({ model: 'gpt-4o' }),
          attempt({}),
        ]),
      },
    });
    await settle();
    const routes = [...document.querySelectorAll('[data-testid="log-attempt-route"]')].map((e) =>
      (e.textContent ?? '').replace(/\s+/g, ' ').trim(),
    );
    expect(routes).toEqual(['model gpt-4.1 · via http://…@proxy-a.example.com:3128', 'model gpt-4o']);
  });

  it('says which format a translated request came in, and nothing for a native one', async () => {
    mountWithApp(LogDetailDrawer, {
      props: { modelValue: { ...log([attempt({})]), translatedFrom: 'anthropic' } },
    });
    await settle();
    expect(document.querySelector('[data-testid="log-translated-from"]')?.textContent).toBe(
      'Anthropic format',
    );
    document.body.innerHTML = '';
    mountWithApp(LogDetailDrawer, { props: { modelValue: log([attempt({})]) } });
    await settle();
    expect(document.querySelector('[data-testid="log-translated-from"]')).toBeNull();
  });
});
