import { describe, expect, it } from 'vitest';
import { createPrettyStream, formatPrettyLine } from './pretty';

const at = new Date(2025, 0, 2, 3, 4, 5, 67).toISOString();

describe('formatPrettyLine', () => {
  it('formats local time, padded level label, message and fields', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: at,
      pid: 1,
      hostname: 'h',
      msg: 'slow',
      ms: 1200,
      ok: false,
    });
    expect(formatPrettyLine(line)).toBe('03:04:05.067 WARN  slow ms=1200 ok=false\n');
  });

  it('reads numeric pino levels and epoch times too', () => {
    const line = JSON.stringify({ level: 50, time: Date.parse(at), msg: 'x' });
    expect(formatPrettyLine(line)).toBe('03:04:05.067 ERROR x\n');
  });

  it('quotes strings with spaces or quotes and prints objects as JSON', () => {
    const line = JSON.stringify({
      level: 'info',
      time: at,
      msg: 'm',
      s: 'a b',
      q: 'say "hi"',
      o: { a: [1] },
      n: null,
    });
    expect(formatPrettyLine(line)).toBe('03:04:05.067 INFO  m s="a b" q="say \\"hi\\"" o={"a":[1]} n=null\n');
  });

  it('colours the level label when asked', () => {
    const out = formatPrettyLine(JSON.stringify({ level: 'error', time: at, msg: 'x' }), { colors: true });
    expect(out).toContain('\x1b[31mERROR\x1b[0m');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatPrettyLine('not json')).toBe('not json\n');
    expect(formatPrettyLine('42\n')).toBe('42\n');
  });
});

describe('createPrettyStream', () => {
  it('formats every line of a chunk and writes once to the destination', () => {
    const writes: string[] = [];
    const stream = createPrettyStream({ write: (s: string) => writes.push(s) }, { colors: false });
    const a = JSON.stringify({ level: 'info', time: at, msg: 'a' });
    const b = JSON.stringify({ level: 'info', time: at, msg: 'b' });
    stream.write(`${a}\n${b}\n`);
    expect(writes).toEqual(['03:04:05.067 INFO  a\n03:04:05.067 INFO  b\n']);
  });
});
