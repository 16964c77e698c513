import { describe, expect, it } from 'vitest';
import { maskSecret, redactSecrets, scrubKeyMaterial } from './mask';

const OPENAI_KEY = 'sk-proj-AFAKEkeyForMaskTestsNotRea0123456789abcd';
const ANTHROPIC_KEY = 'sk-ant-api03-FAKE-mask-test-key-00000000000000000-_zyxwvu';
const GEMINI_KEY = 'AIzaSy-FAKE-gemini-test-key-00005p6Q';

/** Characters of the secret a mask shows. */
const revealed = (mask: string) => mask.replace(/[…*]/g, '').length;

/** Deterministic key of length n (the characters do not repeat within 62). */
const keyOf = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[i % 62],
  ).join('');

describe('maskSecret', () => {
  it('shows the first 5 and last 4 characters of a 40-character key, nothing more', () => {
    const key = keyOf(40);
    expect(maskSecret(key)).toBe(`${key.slice(0, 5)}…${key.slice(-4)}`);
    expect(revealed(maskSecret(key))).toBe(9);
  });

  it.each([16, 20, 40, 64, 128, 4096])('never reveals more than 9 characters of a %i-character key', (n) => {
    expect(revealed(maskSecret(keyOf(n)))).toBeLessThanOrEqual(9);
  });

  it.each([10, 12, 15])('shows only 2 + 2 characters of a %i-character secret', (n) => {
    const s = keyOf(n);
    expect(maskSecret(s)).toBe(`${s.slice(0, 2)}…${s.slice(-2)}`);
  });

  it.each([
    [1, '*…'],
    [2, '**…'],
    [3, '***…'],
    [8, '***…'],
    [9, '***…'],
  ])('hides a %i-character secret completely', (n, mask) => {
    expect(maskSecret(keyOf(n))).toBe(mask);
  });

  it('masks an empty string without throwing', () => {
    expect(maskSecret('')).toBe('…');
  });
});

describe('redactSecrets', () => {
  it('replaces every raw occurrence by the mask', () => {
    expect(redactSecrets(`a ${OPENAI_KEY} b ${OPENAI_KEY}`, [OPENAI_KEY])).toBe(
      `a ${maskSecret(OPENAI_KEY)} b ${maskSecret(OPENAI_KEY)}`,
    );
  });

  it('replaces URL-encoded occurrences too', () => {
    const secret = 'pa$$/word+with=chars';
    const out = redactSecrets(`https://x.test/?token=${encodeURIComponent(secret)}&raw=${secret}`, [secret]);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(encodeURIComponent(secret));
    expect(out).toBe(`https://x.test/?token=${maskSecret(secret)}&raw=${maskSecret(secret)}`);
  });

  it.each(['proxy"key\\with-quote', 'a"b\\cdefghijklmnopqrstu'])(
    'replaces JSON-escaped occurrences inside an upstream error body (%s)',
    (secret) => {
      const body = JSON.stringify({ error: { message: `Incorrect API key provided: ${secret}` } });
      const out = redactSecrets(body, [secret]);
      expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(JSON.parse(out)).toEqual({
        error: { message: `Incorrect API key provided: ${maskSecret(secret)}` },
      });
    },
  );

  it('handles several secrets and skips empty, missing and very short ones', () => {
    const out = redactSecrets(`${GEMINI_KEY} ${ANTHROPIC_KEY} abc`, [
      GEMINI_KEY,
      null,
      undefined,
      '',
      'abc',
      ANTHROPIC_KEY,
    ]);
    expect(out).toBe(`${maskSecret(GEMINI_KEY)} ${maskSecret(ANTHROPIC_KEY)} abc`);
  });

  it('accepts any iterable, such as a Set', () => {
    expect(redactSecrets('x secret-value x', new Set(['secret-value']))).toBe(
      `x ${maskSecret('secret-value')} x`,
    );
  });

  it('returns text without secrets unchanged', () => {
    expect(redactSecrets('nothing here', [OPENAI_KEY])).toBe('nothing here');
  });
});

describe('scrubKeyMaterial', () => {
  it.each([
    [
      '?key= in a Gemini URL',
      `https://g.test/v1beta/models?key=${GEMINI_KEY}&alt=sse`,
      'https://g.test/v1beta/models?key=[redacted]&alt=sse',
    ],
    ['&key= after another parameter', `/v1?alt=sse&key=${GEMINI_KEY}`, '/v1?alt=sse&key=[redacted]'],
    ['api_key', `/x?api_key=abcdef123456`, '/x?api_key=[redacted]'],
    ['api-key', `/x?api-key=abcdef123456`, '/x?api-key=[redacted]'],
    ['apikey (any case)', `/x?APIKEY=abcdef123456`, '/x?APIKEY=[redacted]'],
    ['access_token', `/x?access_token=ya29.abcdef#frag`, '/x?access_token=[redacted]#frag'],
    ['a quoted URL keeps its quote', `"url":"/x?key=abc123"`, '"url":"/x?key=[redacted]"'],
    ['Bearer token', `Authorization: Bearer ${OPENAI_KEY}`, 'Authorization: Bearer [redacted]'],
    ['bearer, lower case', 'bearer abcdefgh12345678', 'bearer [redacted]'],
    ['bare OpenAI key', `key ${OPENAI_KEY} failed`, 'key sk-proj-A…abcd failed'],
    ['bare Anthropic key', `key ${ANTHROPIC_KEY} failed`, 'key sk-ant-api03-…xwvu failed'],
    ['bare Gemini key', `key ${GEMINI_KEY} failed`, 'key AIzaSy…5p6Q failed'],
  ])('scrubs %s', (_name, input, output) => {
    expect(scrubKeyMaterial(input)).toBe(output);
  });

  it.each([
    'plain text without keys',
    'sk-short',
    'task-abcdefghijklmnopqrstuvwxyz',
    '/v1/chat/completions?model=gpt-4o&monkey=banana',
    'Bearer short',
  ])('leaves %j alone', (text) => {
    expect(scrubKeyMaterial(text)).toBe(text);
  });

  it('keeps only the well-known prefix and the last 4 characters of a provider key', () => {
    for (const key of [OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY]) {
      const out = scrubKeyMaterial(`(${key})`);
      expect(out).not.toContain(key.slice(13, -4));
      expect(out.endsWith(`${key.slice(-4)})`)).toBe(true);
    }
  });
});

describe('maskSecret with characters outside the BMP', () => {
  it('never cuts an emoji in half', () => {
    const masked = maskSecret('kw-proxy-abcdefghi🔑xyz');
    expect(masked).toBe('kw-pr…🔑xyz');
    expect(/[\uD800-\uDFFF]/.test(masked.replace(/\p{Extended_Pictographic}/gu, ''))).toBe(false);
  });
});
