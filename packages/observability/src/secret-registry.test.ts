import { maskSecret } from '@keyway/core';
import { describe, expect, it } from 'vitest';
import { MIN_MASKED_SECRET_LENGTH, SecretRegistry } from './secret-registry';

/** Deterministic pseudo-random key material (no Math.random: failures must reproduce). */
function keys(count: number, seed = 1): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    let k = ['sk-proj-', 'AIza', 'sk-ant-api03-', ''][i % 4] ?? '';
    const len = 20 + (next() % 60);
    for (let j = 0; j < len; j++) k += alphabet[next() % alphabet.length];
    return k;
  });
}

// Both matcher strategies: a handful of patterns use indexOf, large registries the rolling hash.
describe.each([
  ['a small registry', 3],
  ['a large registry', 1000],
])('SecretRegistry with %s', (_name, count) => {
  const secrets = keys(count);
  const registry = new SecretRegistry(secrets);
  const target = secrets[Math.floor(count / 2)] as string;

  it('masks every occurrence of a registered secret in plain text', () => {
    const out = registry.redact(`first ${target}, second=${target}.`);
    expect(out).toBe(`first ${maskSecret(target)}, second=${maskSecret(target)}.`);
  });

  it('masks the URL-encoded form as well', () => {
    const odd = 'tok/with+plus=and&amp';
    const r = new SecretRegistry([...secrets, odd]);
    expect(r.redact(`?t=${encodeURIComponent(odd)}`)).toBe(`?t=${maskSecret(odd)}`);
  });

  it('returns text without secrets unchanged', () => {
    const text = 'nothing to see here: sk-not-registered-1234567890abcdef';
    expect(registry.redact(text)).toBe(text);
    expect(registry.redactJsonLine(JSON.stringify({ text }))).toBe(JSON.stringify({ text }));
  });

  it('masks secrets inside JSON string literals and keeps the line parseable', () => {
    const line = JSON.stringify({ a: target, nested: { b: [`x${target}y`] }, [target]: true }) + '\n';
    const out = registry.redactJsonLine(line);
    expect(out).not.toContain(target);
    expect(out.endsWith('\n')).toBe(true);
    expect(JSON.parse(out)).toEqual({
      a: maskSecret(target),
      nested: { b: [`x${maskSecret(target)}y`] },
      [maskSecret(target)]: true,
    });
  });

  it('finds every registered secret, wherever it sits in the line', () => {
    for (const [i, s] of secrets.entries()) {
      if (i % 37 !== 0) continue;
      const line = JSON.stringify({ pad: 'p'.repeat(i % 13), v: `${'q'.repeat(i % 7)}${s}` });
      expect(registry.redactJsonLine(line)).not.toContain(s);
    }
  });
});

describe('SecretRegistry', () => {
  it(`ignores values shorter than ${MIN_MASKED_SECRET_LENGTH} characters, and empty ones`, () => {
    const r = new SecretRegistry();
    expect(r.add('abc12')).toBe(false);
    expect(r.add('')).toBe(false);
    expect(r.add(null)).toBe(false);
    expect(r.add('abc123')).toBe(true);
    expect(r.size).toBe(1);
    expect(r.redact('abc12 abc123')).toBe('abc12 ***…');
  });

  it('stops masking a secret once it is deleted, and after clear()', () => {
    const r = new SecretRegistry(['first-secret-value', 'second-secret-value']);
    expect(r.redact('first-secret-value')).not.toContain('first-secret-value');
    r.delete('first-secret-value');
    expect(r.redact('first-secret-value')).toBe('first-secret-value');
    expect(r.has('second-secret-value')).toBe(true);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.redact('second-secret-value')).toBe('second-secret-value');
  });

  it('is iterable, so it can be passed where a list of secrets is expected', () => {
    expect([...new SecretRegistry(['one-secret', 'two-secret'])]).toEqual(['one-secret', 'two-secret']);
  });

  it('leaves no part of overlapping secrets visible', () => {
    const many = [...keys(40), 'AAAABBBBCCCC', 'CCCCDDDDEEEE'];
    for (const r of [new SecretRegistry(['AAAABBBBCCCC', 'CCCCDDDDEEEE']), new SecretRegistry(many)]) {
      const out = r.redactJsonLine(JSON.stringify({ v: '<AAAABBBBCCCCDDDDEEEE>' }));
      expect(out).not.toMatch(/BBBB|DDDD|EEEE/);
      expect(() => JSON.parse(out) as unknown).not.toThrow();
    }
  });

  it('does not touch a match that starts inside a JSON escape sequence', () => {
    // In the serialized line a newline is the two characters `\n` and U+0001 is `\u0001`, so "nabcdefgh" and
    // "0001abcdef" occur in the line's text but not in any string value; replacing them would break the escape.
    const tricky = ['nabcdefgh', '0001abcdef'];
    for (const r of [new SecretRegistry(tricky), new SecretRegistry([...keys(40), ...tricky])]) {
      const line = JSON.stringify({ v: 'line\nabcdefgh', u: '\u0001abcdef' });
      expect(r.redactJsonLine(line)).toBe(line);
    }
  });

  it('does not touch a match outside string literals (numbers), which would break the JSON', () => {
    const r = new SecretRegistry(['1234567890']);
    const line = JSON.stringify({ n: 1234567890, s: '1234567890' });
    expect(JSON.parse(r.redactJsonLine(line))).toEqual({ n: 1234567890, s: maskSecret('1234567890') });
  });

  it('escapes the mask of a secret containing quotes so the JSON stays valid', () => {
    const secret = '"quoted"-secret\\value';
    const r = new SecretRegistry([secret]);
    const out = r.redactJsonLine(JSON.stringify({ v: `x${secret}x` }));
    expect(JSON.parse(out)).toEqual({ v: `x${maskSecret(secret)}x` });
  });
});
