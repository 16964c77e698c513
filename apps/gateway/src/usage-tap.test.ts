import { describe, expect, it } from 'vitest';
import { usageOnly } from './usage-tap';

describe('usageOnly', () => {
  it('finds the usage object of OpenAI, Anthropic and Gemini bodies without parsing the rest', () => {
    const openai = JSON.stringify({
      id: 'chatcmpl-1',
      choices: [{ message: { content: 'hi' } }],
      usage: { prompt_tokens: 19, completion_tokens: 36, total_tokens: 55 },
    });
    expect(usageOnly(openai, ['usage'])).toEqual({
      usage: { prompt_tokens: 19, completion_tokens: 36, total_tokens: 55 },
    });
    const gemini = JSON.stringify({
      candidates: [],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 },
    });
    expect(usageOnly(gemini, ['usageMetadata'])).toEqual({
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 },
    });
    const pretty =
      '{\n  "type": "message",\n  "usage" :\n {"input_tokens": 10, "output_tokens": {"n": [1, "}"]}}\n}';
    expect(usageOnly(pretty, ['usage'])).toEqual({
      usage: { input_tokens: 10, output_tokens: { n: [1, '}'] } },
    });
  });

  it('ignores a "usage" key quoted inside a string value (a model echoing JSON)', () => {
    const body = JSON.stringify({
      choices: [{ message: { content: 'say {"usage":{"prompt_tokens":999}}' } }],
    });
    expect(usageOnly(body, ['usage'])).toBeNull();
    const both = JSON.stringify({
      choices: [{ message: { content: 'a \\ and {"usage":{"prompt_tokens":999}}' } }],
      usage: { prompt_tokens: 1 },
    });
    expect(usageOnly(both, ['usage'])).toEqual({ usage: { prompt_tokens: 1 } });
  });

  it('is null when there is no usage object or it does not parse (the caller then parses the whole body)', () => {
    expect(usageOnly('{"id":"x"}', ['usage'])).toBeNull();
    expect(usageOnly('{"usage": null}', ['usage'])).toBeNull();
    expect(usageOnly('{"usage": {"prompt_tokens": 1', ['usage'])).toBeNull();
  });
});
