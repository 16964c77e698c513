import type { Attempt, RequestLogRecord } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { attemptsJson, copyLine, copyValue, rowValues } from './pg-log-writer';

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

describe('PostgreSQL log writer: COPY text', () => {
  it('writes each record as its values through copyValue, tab-separated (a seeded fuzz)', () => {
    const rand = random(0x1f2e3d4c);
    let plainAttempts = 0;
    for (let n = 0; n < 3000; n++) {
      const r = fuzzRecord(rand, n);
      const expected = `${rowValues(r).map(copyValue).join('\t')}\n`;
      expect(copyLine(r), JSON.stringify(r)).toBe(expected);
      if (r.attempts.length > 0 && !/\\/.test(attemptsJson(r.attempts))) plainAttempts++;
    }
    // Both ways of writing attempts were taken: field by field (plain strings) and through JSON.stringify.
    expect(plainAttempts).toBeGreaterThan(20);
  });

  it('writes the usual record with the JSON of its attempts and one line', () => {
    const rand = random(7);
    const r: RequestLogRecord = {
      ...fuzzRecord(rand, 1),
      attempts: [
        {
          keyId: 2,
          key: 'sk-be…3f9c',
          upstreamUrl: 'http://127.0.0.1:40000',
          statusCode: 200,
          class: 'ok',
          durationMs: 3.2,
          error: null,
          model: 'gpt-4o-mini',
        },
      ],
    };
    const line = copyLine(r);
    expect(line.split('\t')).toHaveLength(29);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\t')[17]).toBe(JSON.stringify(r.attempts));
  });
});
