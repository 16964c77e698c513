import { describe, expect, it } from 'vitest';
import { operationOf } from './tracing';

describe('operationOf', () => {
  it("names each channel's generation calls as the GenAI conventions do", () => {
    expect(operationOf('/v1/chat/completions')).toBe('chat');
    expect(operationOf('/v1/messages')).toBe('chat');
    expect(operationOf('/v1/responses')).toBe('chat');
    expect(operationOf('/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(operationOf('/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toBe('generate_content');
    expect(operationOf('/v1/embeddings')).toBe('embeddings');
    expect(operationOf('/v1beta/models/text-embedding-004:embedContent')).toBe('embeddings');
    expect(operationOf('/v1/completions')).toBe('text_completion');
  });

  it('names no operation for calls that generate nothing (model lists)', () => {
    expect(operationOf('/v1/models')).toBeUndefined();
    expect(operationOf('/v1beta/models')).toBeUndefined();
  });
});
