import { describe, expect, it } from 'vitest';
import { ALL_SUBJECTS, PAYLOAD_SCHEMAS, PROCESS_ORIGIN, SUBJECTS, subjectName } from './subjects';

describe('subjects', () => {
  it('builds wire names from the prefix and the subject', () => {
    expect(subjectName('kw', SUBJECTS.keyState)).toBe('kw.keys.state');
    expect(subjectName('kw.eu', SUBJECTS.configChanged)).toBe('kw.eu.config.changed');
    expect(() => subjectName('kw.>', SUBJECTS.keysChanged)).toThrow(/invalid bus prefix/);
  });

  it('has a schema for every subject', () => {
    expect(Object.keys(PAYLOAD_SCHEMAS).sort()).toEqual([...ALL_SUBJECTS].sort());
  });

  it('accepts a cooling key state and rejects an unknown status or a missing origin', () => {
    const state = {
      keyId: 1,
      groupId: 2,
      status: 'cooling',
      failureCount: 3,
      cooldownUntil: 1_700_000_000_000,
      lastError: null,
      cause: 'upstream-429',
      at: 1_699_999_999_000,
      origin: PROCESS_ORIGIN,
    };
    expect(PAYLOAD_SCHEMAS['keys.state'].safeParse(state).success).toBe(true);
    expect(PAYLOAD_SCHEMAS['keys.state'].safeParse({ ...state, status: 'banned' }).success).toBe(false);
    expect(PAYLOAD_SCHEMAS['keys.state'].safeParse({ ...state, origin: '' }).success).toBe(false);
  });

  it('gives this process an origin that names its pid', () => {
    expect(PROCESS_ORIGIN).toContain(`:${process.pid}:`);
  });
});
