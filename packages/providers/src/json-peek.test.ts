import { describe, expect, it } from 'vitest';
import { peekJsonString, peekJsonTrue, queryFlag, queryParam } from './json-peek';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('peekJsonString', () => {
  it.each([
    ['first key', '{"model":"gpt-4o","messages":[]}', 'gpt-4o'],
    [
      'after a long history',
      `{"messages":[{"role":"user","content":"${'x'.repeat(200_000)}"}],"model":"late"}`,
      'late',
    ],
    ['whitespace around the colon', '{ "model" :\n "spaced" }', 'spaced'],
    ['escaped value is unescaped', '{"model":"a\\"b\\u002fc"}', 'a"b/c'],
    ['unicode value', '{"model":"模型-1"}', '模型-1'],
    ['nested only', '{"metadata":{"model":"inner"},"x":1}', null],
    ['inside a string value', '{"messages":[{"content":"say \\"model\\": \\"fake\\""}]}', null],
    ['nested first, top level later', '{"tools":[{"model":"inner"}],"model":"outer"}', 'outer'],
    ['value is not a string', '{"model":42}', null],
    ['string ending in a backslash before the key', '{"path":"C:\\\\","model":"m"}', 'm'],
    ['top level is an array', '[{"model":"x"}]', null],
    ['not JSON', 'model=gpt-4o', null],
    ['truncated', '{"model":"gpt', null],
  ])('%s', (_name, body, expected) => {
    expect(peekJsonString(b(body), 'model')).toBe(expected);
  });

  it('handles null and empty bodies', () => {
    expect(peekJsonString(null, 'model')).toBeNull();
    expect(peekJsonString(Buffer.alloc(0), 'model')).toBeNull();
  });

  it('stops at the limit when one is given', () => {
    expect(peekJsonString(b(`{"a":"${'x'.repeat(100)}","model":"m"}`), 'model', 50)).toBeNull();
  });
});

describe('peekJsonTrue', () => {
  it.each([
    ['true', '{"stream":true}', true],
    ['true with spaces, last key', '{"model":"m", "stream" : true }', true],
    ['after a long history', `{"messages":[{"content":"${'y'.repeat(100_000)}"}],"stream":true}`, true],
    ['false', '{"stream":false}', false],
    [
      'false, true only inside a string',
      '{"stream":false,"messages":[{"content":"\\"stream\\": true"}]}',
      false,
    ],
    ['only inside a string', '{"messages":[{"content":"{\\"stream\\":true}"}]}', false],
    ['nested object', '{"options":{"stream":true}}', false],
    [
      'a tool schema property',
      '{"tools":[{"parameters":{"properties":{"stream":{"type":"boolean"}}}}]}',
      false,
    ],
    ['truthy string', '{"stream":"true"}', false],
    ['longer literal', '{"stream":trueish}', false],
    ['stream_options is another key', '{"stream_options":{"include_usage":true}}', false],
  ])('%s', (_name, body, expected) => {
    expect(peekJsonTrue(b(body), 'stream')).toBe(expected);
  });
});

describe('query helpers', () => {
  it('reads flags and params', () => {
    expect(queryFlag('stream=true', 'stream')).toBe(true);
    expect(queryFlag('stream=1', 'stream')).toBe(false);
    expect(queryFlag('', 'stream')).toBe(false);
    expect(queryParam('alt=sse&x=1', 'alt')).toBe('sse');
    expect(queryParam('x=1', 'alt')).toBeNull();
  });
});
