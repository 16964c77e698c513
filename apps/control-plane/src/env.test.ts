import { EnvError } from '@keyway/config';
import { describe, expect, it } from 'vitest';
import { readEnv } from './env';

const BASE = { AUTH_KEY: 'c41f0e9b7a2d4c68e1f3a5b7d9c0e2f4' };
const KEY = '5b8e2c7f1a9d3e6b4c0f8a2d7e1b9c3f';

describe('control plane environment: ENCRYPTION_KEY', () => {
  it('refuses to start without it, saying so and naming the `off` opt-out', () => {
    expect(() => readEnv(BASE)).toThrow(EnvError);
    expect(() => readEnv(BASE)).toThrow(/ENCRYPTION_KEY: is required in distributed mode.*`off`/s);
  });

  it('stores keys in plaintext only when told `off`', () => {
    const env = readEnv({ ...BASE, ENCRYPTION_KEY: 'off' });
    expect(env.encryptionOff).toBe(true);
    expect(env.ENCRYPTION_KEY).toBeUndefined();
  });

  it('uses the given key', () => {
    const env = readEnv({ ...BASE, ENCRYPTION_KEY: KEY });
    expect(env).toMatchObject({ ENCRYPTION_KEY: KEY, encryptionOff: false });
  });

  it('lists a missing AUTH_KEY and a missing ENCRYPTION_KEY together, with what to set them to', () => {
    expect(() => readEnv({})).toThrow(
      /AUTH_KEY: is required \(a long random value[\s\S]*ENCRYPTION_KEY: is required/,
    );
  });
});
