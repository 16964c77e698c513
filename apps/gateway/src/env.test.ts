import { EnvError } from '@keyway/config';
import { describe, expect, it } from 'vitest';
import { readEnv } from './env';

const KEY = '5b8e2c7f1a9d3e6b4c0f8a2d7e1b9c3f';

describe('gateway environment: ENCRYPTION_KEY', () => {
  it('refuses to start without it, saying so and naming the `off` opt-out', () => {
    expect(() => readEnv({})).toThrow(EnvError);
    expect(() => readEnv({})).toThrow(/ENCRYPTION_KEY: is required in distributed mode.*`off`/s);
  });

  it('reads keys as plaintext only when told `off`', () => {
    expect(readEnv({ ENCRYPTION_KEY: 'OFF' })).toMatchObject({
      ENCRYPTION_KEY: undefined,
      encryptionOff: true,
    });
  });

  it('uses the given key', () => {
    expect(readEnv({ ENCRYPTION_KEY: KEY })).toMatchObject({ ENCRYPTION_KEY: KEY, encryptionOff: false });
  });
});
