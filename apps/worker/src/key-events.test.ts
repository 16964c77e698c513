import { MemoryKeyPool } from '@keyway/keypool';
import type { KeyStateChange } from '@keyway/keypool';
import { keyEventsPayloadSchema } from '@keyway/queue';
import { describe, expect, it } from 'vitest';

// The queue package cannot depend on the key pool, so its key-events schema restates KeyStateChange; this keeps
// the two in step from the one package that sees both.
describe('key-events payload', () => {
  it('accepts the changes a key pool emits, unchanged', async () => {
    const pool = new MemoryKeyPool();
    const changes: KeyStateChange[] = [];
    pool.onChange((c) => changes.push(c));
    await pool.load(1, [
      {
        id: 7,
        groupId: 1,
        value: 'sk-x',
        status: 'active',
        failureCount: 0,
        cooldownUntil: null,
        lastError: null,
      },
    ]);
    pool.report(
      1,
      7,
      { class: 'rate', retryAfterMs: 5000, reason: '429' },
      {
        blacklistThreshold: 3,
        rateLimitCooldownSeconds: 5,
        rateLimitMaxCooldownSeconds: 300,
        quotaCooldownMinutes: 60,
      },
    );
    pool.setStatus(1, 7, 'invalid', 'validation', '401 unauthorized');
    expect(changes).toHaveLength(2);
    expect(keyEventsPayloadSchema.parse({ changes })).toEqual({ changes });
  });
});
