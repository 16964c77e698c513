import { TRANSLATABLE_FROM, channelSchema } from '@keyway/contracts';
import type { TranslateDialect } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { translatableDialect, translatorFor, translatorForRequest } from './registry';

describe('translator registry', () => {
  it('has a translator for exactly the pairs the admin API lets a group opt in to', () => {
    for (const to of channelSchema.options) {
      for (const from of ['openai', 'anthropic'] as TranslateDialect[]) {
        const allowed = (TRANSLATABLE_FROM[to] ?? []).includes(from);
        const t = translatorFor(from, to);
        expect(t !== null, `${from} → ${to}`).toBe(allowed);
        if (t) expect([t.from, t.to]).toEqual([from, to]);
      }
    }
  });

  it('translates only POST chat completions (OpenAI callers) and POST messages (Anthropic callers)', () => {
    expect(translatableDialect('POST', '/v1/chat/completions')).toBe('openai');
    expect(translatableDialect('POST', '/v1/messages')).toBe('anthropic');
    expect(translatableDialect('GET', '/v1/messages')).toBeNull();
    expect(translatableDialect('POST', '/v1/messages/count_tokens')).toBeNull();
    expect(translatableDialect('POST', '/v1/embeddings')).toBeNull();
  });

  it('picks the translator only for a dialect the group accepts', () => {
    expect(translatorForRequest(['openai'], 'anthropic', 'POST', '/v1/chat/completions')?.from).toBe(
      'openai',
    );
    expect(translatorForRequest(['openai'], 'gemini', 'POST', '/v1/messages')).toBeNull();
    expect(translatorForRequest(['anthropic'], 'gemini', 'POST', '/v1/messages')?.to).toBe('gemini');
    // A group's own dialect is native, whatever it lists.
    expect(translatorForRequest(['openai'], 'openai', 'POST', '/v1/chat/completions')).toBeNull();
    expect(translatorForRequest(['anthropic'], 'openai-response', 'POST', '/v1/messages')).toBeNull();
  });
});
