import type { Attempt, RequestLogRecord } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { attemptsJson, copyLine, copyValue, rowValues } from './pg-log-writer';
import { logRecord } from './testing/records';

// The COPY text of a record written column by column must be byte for byte what its values through copyValue,
// tab-separated, are (the form the writer used before, and the INSERT path's values); the PostgreSQL integration
// test checks that what COPY stores reads back as the records.

/** A seeded xorshift: the same cases every run. */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/** Strings with what COPY or JSON escape, NUL, a lone surrogate, a mask's `…`, and plain ones. */
const STRINGS = [
  '',
  'plain',
  'sk-ab…wxyz',
  'tab\there',
  'line\nbreak',
  'cr\rhere',
  'back\\slash',
  'quote"d',
  'nul\u0000inside',
  'lone\ud800surrogate',
  'pair 😀',
  '\u0001\u001f',
  '\\N',
  'https://api.example.com/v1?x=1&y=2',
];
const NUMBERS = [0, -0, 1, 42, 1.5, 0.0000213, 1e21, -7, 2 ** 53 - 1];

function fuzzRecord(rand: (n: number) => number, n: number): RequestLogRecord {
  const str = () => STRINGS[rand(STRINGS.length)]!;
  const strOrNull = () => (rand(4) === 0 ? null : str());
  const num = () => NUMBERS[rand(NUMBERS.length)]!;
  const numOrNull = () => (rand(4) === 0 ? null : num());
  const attempts: Attempt[] = [];
  for (let i = rand(4); i > 0; i--) {
    const a: Attempt = {
      keyId: numOrNull(),
      key: strOrNull(),
      upstreamUrl: str(),
      statusCode: num(),
      class: (['ok', 'rate', 'auth', 'aborted'] as const)[rand(4)]!,
      durationMs: num(),
      error: strOrNull(),
    };
    if (rand(2) === 0) a.proxy = str();
    if (rand(2) === 0) a.model = str();
    attempts.push(a);
  }
  return {
    id: `id-${n}${rand(3) === 0 ? str() : ''}`,
    requestId: str(),
    time: rand(3) === 0 ? '2026-12-07T08:00:00.123+02:00' : '2026-12-07T08:00:00.123Z',
    groupId: num(),
    groupName: str(),
    parentGroupId: numOrNull(),
    parentGroupName: strOrNull(),
    keyId: numOrNull(),
    keyMasked: strOrNull(),
    proxyKeyMasked: strOrNull(),
    model: strOrNull(),
    statusCode: num(),
    success: rand(2) === 0,
    durationMs: num(),
    ttfbMs: numOrNull(),
    stream: rand(2) === 0,
    retries: num(),
    attempts,
    error: strOrNull(),
    clientIp: strOrNull(),
    requestPath: strOrNull(),
    promptTokens: numOrNull(),
    completionTokens: numOrNull(),
    cachedTokens: numOrNull(),
    costUsd: numOrNull(),
    accessKeyId: numOrNull(),
    accessKeyName: strOrNull(),
    translatedFrom: ([null, 'openai', 'anthropic'] as const)[rand(3)]!,
    requestBody: strOrNull(),
  };
}

/**
 * A line of COPY text read back as PostgreSQL's text format reads it: columns split at tabs, `\N` is null, and the
 * backslash escapes (`\t`, `\n`, `\r`, `\b`, `\f`, `\v`, octal and `\x` bytes, any other character as itself) give
 * the bytes of the value, read as UTF-8. https://www.postgresql.org/docs/current/sql-copy.html ("Text Format")
 */
function decodeCopyLine(line: string): (string | null)[] {
  expect(line.endsWith('\n')).toBe(true);
  return line
    .slice(0, -1)
    .split('\t')
    .map((field) => {
      if (field === '\\N') return null;
      const bytes: number[] = [];
      const named: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
      for (let i = 0; i < field.length; i++) {
        const c = field[i]!;
        if (c !== '\\') {
          // By code point: a surrogate pair is one character.
          const point = field.codePointAt(i)!;
          if (point > 0xffff) i++;
          bytes.push(...Buffer.from(String.fromCodePoint(point), 'utf8'));
          continue;
        }
        const next = field[++i]!;
        const hex = /^x([0-9a-fA-F]{1,2})/.exec(field.slice(i));
        const octal = /^[0-7]{1,3}/.exec(field.slice(i));
        if (hex) {
          bytes.push(parseInt(hex[1]!, 16));
          i += hex[0].length - 1;
        } else if (octal) {
          bytes.push(parseInt(octal[0], 8) & 0xff);
          i += octal[0].length - 1;
        } else bytes.push(named[next] ?? next.charCodeAt(0));
      }
      return Buffer.from(bytes).toString('utf8');
    });
}

/**
 * What each column of a record must read back as: its stored value's text (booleans as t/f), through UTF-8 as the
 * writer sends it (a lone surrogate becomes U+FFFD).
 */
const storedTexts = (r: RequestLogRecord): (string | null)[] =>
  rowValues(r).map((v) =>
    v === null
      ? null
      : Buffer.from(typeof v === 'boolean' ? (v ? 't' : 'f') : String(v), 'utf8').toString('utf8'),
  );

describe('PostgreSQL log writer: COPY text', () => {
  it('writes each record so that COPY reads back its values (a seeded fuzz)', () => {
    const rand = random(0x1f2e3d4c);
    let plainAttempts = 0;
    for (let n = 0; n < 3000; n++) {
      const r = fuzzRecord(rand, n);
      expect(decodeCopyLine(copyLine(r)), JSON.stringify(r)).toEqual(storedTexts(r));
      // Whatever is not a mask is the text copyValue writes, byte for byte.
      const line = copyLine(r).slice(0, -1).split('\t');
      const plain = rowValues(r).map(copyValue);
      for (const i of [0, 1, 2, 4, 10, 18, 19, 20, 26, 28]) expect(line[i]).toBe(plain[i]);
      if (r.attempts.length > 0 && !/\\/.test(attemptsJson(r.attempts))) plainAttempts++;
    }
    // Both ways of writing attempts were taken: field by field (plain strings) and through JSON.stringify.
    expect(plainAttempts).toBeGreaterThan(20);
  });

  it('writes the usual record as one ASCII line with the JSON of its attempts', () => {
    const r = logRecord(1);
    expect(r.keyMasked).toContain('…');
    const line = copyLine(r);
    expect(decodeCopyLine(line)).toEqual(storedTexts(r));
    expect(decodeCopyLine(line)[17]).toBe(JSON.stringify(r.attempts));
    // The masks' ellipses as byte escapes: the usual line is ASCII (one-byte in V8) from end to end.
    expect(line).toMatch(/^[\x20-\x7e\t]*\n$/);
  });
});
