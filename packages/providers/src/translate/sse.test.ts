import { describe, expect, it } from 'vitest';
import { SseParser, sseEvent } from './sse';

function parseAll(chunks: (string | Uint8Array)[]) {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

describe('SseParser', () => {
  const text =
    'event: message_start\ndata: {"a":1}\n\n: ping\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\n\n';
  const expected = [
    { event: 'message_start', data: '{"a":1}' },
    { data: 'line1\nline2' },
    { data: '[DONE]' },
  ];

  it('parses named, multi-line and CRLF events', () => {
    expect(parseAll([text])).toEqual(expected);
  });

  it('gives the same events at every split point, bytes included', () => {
    const bytes = new TextEncoder().encode(text.replace('line1', 'lïne1 ✓'));
    const want = expected.map((e) => (e.data.startsWith('line1') ? { data: 'lïne1 ✓\nline2' } : e));
    for (let i = 0; i <= bytes.length; i++)
      expect(parseAll([bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`).toEqual(want);
    expect(parseAll([...bytes].map((b) => Uint8Array.of(b)))).toEqual(want);
  });

  it('treats a lone CR as a line end, also at a chunk boundary', () => {
    expect(parseAll(['data: x\r', '\rdata: y\r\r'])).toEqual([{ data: 'x' }, { data: 'y' }]);
  });

  it('dispatches a last event without its blank line at the end', () => {
    expect(parseAll(['data: {"x":1}'])).toEqual([{ data: '{"x":1}' }]);
  });
});

describe('sseEvent', () => {
  it('writes named and multi-line events', () => {
    expect(sseEvent('{}', 'ping')).toBe('event: ping\ndata: {}\n\n');
    expect(sseEvent('a\nb')).toBe('data: a\ndata: b\n\n');
  });
});
