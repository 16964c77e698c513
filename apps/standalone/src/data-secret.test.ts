import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../test/harness';
import { generateSecretValue, readDataSecret, writeDataSecret } from './data-secret';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('data-secret');
});
afterEach(() => tmp.cleanup());

describe('secrets kept in the data directory', () => {
  it('writes a new secret with mode 0600, creating a private directory for it', () => {
    const file = join(tmp.dir, 'nested', 'encryption-key');
    const value = generateSecretValue({ file: 'encryption-key', prefix: 'kw-enc-' });
    expect(writeDataSecret(file, value, { replace: false })).toBe(value);
    expect(readFileSync(file, 'utf8')).toBe(`${value}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp.dir, 'nested')).mode & 0o077).toBe(0);
  });

  it('keeps the value another process wrote first instead of overwriting it', () => {
    const file = join(tmp.dir, 'encryption-key');
    writeFileSync(file, 'kw-enc-first-one-written-here\n', { mode: 0o600 });
    expect(writeDataSecret(file, 'kw-enc-second-one', { replace: false })).toBe(
      'kw-enc-first-one-written-here',
    );
    expect(readFileSync(file, 'utf8')).toBe('kw-enc-first-one-written-here\n');
  });

  it('makes a secret file others can read private again when reading it', () => {
    const file = join(tmp.dir, 'auth-key');
    writeFileSync(file, 'kw-admin-some-kept-value\n');
    chmodSync(file, 0o644);
    expect(readDataSecret(file)).toEqual({ value: 'kw-admin-some-kept-value', loose: null });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reads nothing when the file does not exist', () => {
    expect(readDataSecret(join(tmp.dir, 'missing'))).toBeNull();
  });
});
