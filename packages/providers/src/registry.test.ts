import { CHANNELS } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { credentialHeaderNames, isCredentialHeader } from './credential';
import {
  isAccountHeader,
  ownsPath,
  providerFor,
  providerForPath,
  providers,
  registeredProviders,
} from './registry';

describe('registry', () => {
  it('has a provider for every channel of the contracts, in their order', () => {
    expect(registeredProviders().map((p) => p.id)).toEqual(CHANNELS);
    for (const c of CHANNELS) expect(providerFor(c).id).toBe(c);
  });

  it('knows every channel’s credential headers and account headers', () => {
    for (const h of ['authorization', 'x-api-key', 'x-goog-api-key'])
      expect(isCredentialHeader(h)).toBe(true);
    expect(isCredentialHeader('accept')).toBe(false);
    expect(credentialHeaderNames()).toEqual(['authorization', 'x-api-key', 'x-goog-api-key']);
    for (const h of ['openai-organization', 'openai-project', 'anthropic-organization-id'])
      expect(isAccountHeader(h)).toBe(true);
    expect(isAccountHeader('x-request-id')).toBe(false);
  });
});

describe('providerForPath', () => {
  it.each([
    ['/v1/chat/completions', 'openai'],
    ['/v1/embeddings', 'openai'],
    ['/v1', 'openai'],
    ['/v1/responses', 'openai-response'],
    ['/v1/responses/resp_1/cancel', 'openai-response'],
    ['/v1/messages', 'anthropic'],
    ['/v1/messages/count_tokens', 'anthropic'],
    ['/v1beta/models/gemini-2.0-flash:generateContent', 'gemini'],
    ['/v1beta/openai/chat/completions', 'gemini'],
    ['/v1/messagesx', 'openai'],
    ['/v1x/chat', null],
    ['/v2/chat', null],
  ])('%s → %s', (path, channel) => {
    expect(providerForPath(path)?.id ?? null).toBe(channel);
  });

  it('tells whether a provider owns a path', () => {
    expect(ownsPath(providers.anthropic, '/v1/messages')).toBe(true);
    expect(ownsPath(providers.openai, '/v1/messages')).toBe(false);
  });
});

describe('model lists per channel', () => {
  const get = (channel: keyof typeof providers, path: string) => providers[channel].modelList('GET', path);

  it('answers only for the channel’s own list paths', () => {
    expect(get('openai', '/v1/models')).not.toBeNull();
    expect(get('openai', '/v1/models/gpt-4o')).toBeNull();
    expect(providers.openai.modelList('POST', '/v1/models')).toBeNull();
    expect(get('gemini', '/v1beta/models')).not.toBeNull();
    expect(get('gemini', '/v1beta/openai/models')).toBe(get('openai', '/v1/models'));
    expect(get('anthropic', '/v1beta/models')).toBeNull();
  });

  it('Anthropic: its own entries, paged by id, strict ends the paging', () => {
    const format = get('anthropic', '/v1/models');
    if (!format) throw new Error('no anthropic list');
    expect(format.isFirstPage('limit=20')).toBe(true);
    expect(format.isFirstPage('after_id=claude-x')).toBe(false);
    const upstream = {
      data: [{ type: 'model', id: 'claude-haiku-4-5' }],
      has_more: true,
      first_id: 'a',
      last_id: 'b',
    };
    const out = format.rewrite(upstream, {
      redirects: { fast: 'claude-haiku-4-5' },
      strict: true,
      firstPage: true,
    });
    expect(out).toEqual({
      data: [{ type: 'model', id: 'fast', display_name: 'fast', created_at: '1970-01-01T00:00:00Z' }],
      has_more: false,
      first_id: 'fast',
      last_id: 'fast',
    });
  });

  it('Gemini: a later page is asked for by pageToken', () => {
    const format = get('gemini', '/v1beta/models');
    expect(format?.isFirstPage('pageSize=50')).toBe(true);
    expect(format?.isFirstPage('pageToken=abc')).toBe(false);
  });
});

describe('model in the path', () => {
  it('Gemini native names the model in the path; its OpenAI surface and other channels do not', () => {
    const m = providers.gemini.modelInPath('/v1beta/models/gemini-2.0-flash:streamGenerateContent');
    expect(m?.model).toBe('gemini-2.0-flash');
    expect(m?.withModel('team/fast')).toBe('/v1beta/models/team%2Ffast:streamGenerateContent');
    expect(providers.gemini.modelInPath('/v1beta/openai/models/x')).toBeNull();
    expect(providers.gemini.modelInPath('/v1beta/models/bad%E0%A4%A:generateContent')?.model).toBe(
      'bad%E0%A4%A',
    );
    expect('modelInPath' in providers.openai).toBe(false);
  });
});
