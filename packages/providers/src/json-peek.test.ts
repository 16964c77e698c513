import { describe, expect, it } from 'vitest';
import {
  eachJsonArrayElement,
  elementsThrough,
  peekJsonString,
  peekJsonTrue,
  peekJsonValue,
  queryFlag,
  queryParam,
} from './json-peek';

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

  it('finds the end of a string wherever its escapes fall, short or long', () => {
    // Escaped quotes and backslash runs at every position around where a byte walk gives way to indexOf.
    for (const escape of ['\\"', '\\\\', '\\\\\\"', '\\n']) {
      for (let at = 0; at < 120; at++) {
        const value = `${'x'.repeat(at)}${escape}${'y'.repeat(at % 7)}`;
        const text = `{"a":"${value}","model":"m${value}"}`;
        const parsed = JSON.parse(text) as { a: string; model: string };
        expect(peekJsonString(b(text), 'model')).toBe(parsed.model);
        expect(peekJsonValue(b(text), 'a')).toEqual({ ok: true, value: parsed.a });
      }
    }
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

describe('peekJsonValue', () => {
  const body = (o: unknown, indent = 0) => Buffer.from(JSON.stringify(o, null, indent));
  it('parses one top-level field alone, whatever its type, and tells absent from malformed', () => {
    const o = {
      a: { x: [1, { y: '}]"' }], z: null },
      b: 'str "with" \\ escapes ] }',
      n: -12.5e3,
      t: true,
      nul: null,
      e: [],
      nested: { b: 'not me' },
    };
    for (const indent of [0, 2]) {
      const raw = body(o, indent);
      for (const [k, v] of Object.entries(o)) expect(peekJsonValue(raw, k)).toEqual({ ok: true, value: v });
      expect(peekJsonValue(raw, 'x')).toBeUndefined();
      expect(peekJsonValue(raw, 'y')).toBeUndefined();
    }
    expect(peekJsonValue(Buffer.from('{"a":{"b":},"c":1}'), 'a')).toEqual({ ok: false });
    expect(peekJsonValue(Buffer.from('{"a":[1,2'), 'a')).toEqual({ ok: false });
    expect(peekJsonValue(Buffer.from('{"a":tru}'), 'a')).toEqual({ ok: false });
    expect(peekJsonValue(Buffer.from('[{"a":1}]'), 'a')).toBeUndefined();
    expect(peekJsonValue(null, 'a')).toBeUndefined();
  });
});

describe('eachJsonArrayElement', () => {
  const visitAll = (raw: Buffer, name: string, stopAt = -1) => {
    const seen: unknown[] = [];
    const found = eachJsonArrayElement(raw, name, (v) => {
      seen.push(v);
      return seen.length - 1 === stopAt;
    });
    return { found, seen };
  };
  it('visits elements in order, each parsed alone, and stops when asked', () => {
    const items = [{ role: 'system', content: 'a, b ] }' }, 'str', 3, null, [1, [2]], { q: '"' }];
    for (const indent of [0, 2]) {
      const raw = Buffer.from(JSON.stringify({ before: { items: 'no' }, items, after: 1 }, null, indent));
      expect(visitAll(raw, 'items')).toEqual({ found: 'array', seen: items });
      expect(visitAll(raw, 'items', 1)).toEqual({ found: 'array', seen: items.slice(0, 2) });
    }
    expect(visitAll(Buffer.from('{"items":[ ]}'), 'items')).toEqual({ found: 'array', seen: [] });
  });
  it('says absent for a missing or non-array field, malformed for broken bytes up to where it stopped', () => {
    expect(visitAll(Buffer.from('{"items":{"a":1}}'), 'items').found).toBe('absent');
    expect(visitAll(Buffer.from('{"other":[1]}'), 'items').found).toBe('absent');
    expect(visitAll(Buffer.from('{"items":[1,}'), 'items')).toEqual({ found: 'malformed', seen: [1] });
    expect(visitAll(Buffer.from('{"items":[1 2]}'), 'items')).toEqual({ found: 'malformed', seen: [1] });
    expect(visitAll(Buffer.from('{"items":[{"a":}]}'), 'items')).toEqual({ found: 'malformed', seen: [] });
    // What lies after the element it stopped at is never looked at.
    expect(visitAll(Buffer.from('{"items":[1,{"broken'), 'items', 0)).toEqual({ found: 'array', seen: [1] });
  });
  it('tells each element where it ends, and stops unparsed where stopBefore says', () => {
    const raw = Buffer.from('{"items":[ {"a":1} , "x", [2] ]}');
    const ends: number[] = [];
    const spans: string[] = [];
    const found = eachJsonArrayElement(
      raw,
      'items',
      (_v, end) => {
        ends.push(end);
        return false;
      },
      (from, to) => spans.push(raw.toString('utf8', from, to)) === 3,
    );
    expect(found).toBe('array');
    expect(spans).toEqual(['{"a":1}', '"x"', '[2]']);
    expect(ends.map((end) => raw.toString('utf8', end - 1, end))).toEqual(['}', '"']);
  });
});

describe('elementsThrough', () => {
  const body = (items: string) => Buffer.from(`{"items":[${items}]}`);
  const through = (items: string) => {
    const raw = body(items);
    const end = elementsThrough(raw, raw.indexOf('[') + 1, 'role', 'user');
    return end < 0 ? null : raw.toString('utf8', raw.indexOf('[') + 1, end);
  };
  it('ends after the first object whose first field is the value, as written', () => {
    expect(
      through('{"role":"system","c":"[\\"role\\":\\"user\\"]"}, { "role" : "user", "c": 1 },{"role":"user"}'),
    ).toBe('{"role":"system","c":"[\\"role\\":\\"user\\"]"}, { "role" : "user", "c": 1 }');
    expect(through('{"role":"users"},{"role":"user"}')).toBe('{"role":"users"},{"role":"user"}');
  });
  it.each([
    ['a role after another field', '{"c":1,"role":"user"}'],
    ['an escaped value', '{"role":"\\u0075ser"}'],
    ['an element that is no object', '"x",{"role":"user"}'],
    ['no user turn', '{"role":"system"}'],
    ['an array that breaks off', '{"role":"system"} {"role":"user"}'],
  ])('gives up on %s (bytes it cannot read)', (_name, items) => {
    expect(through(items)).toBeNull();
  });
});
