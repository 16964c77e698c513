import { defaultSettings } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { isCompleteValidationSettings, isRecheckDue, resolveValidationSettings } from './settings';

describe('resolveValidationSettings', () => {
  it('prefers the group override, then the global setting, then the default', () => {
    expect(
      resolveValidationSettings(
        { keyRecheckIntervalMinutes: 30, keyValidationConcurrency: 4 },
        { keyRecheckIntervalMinutes: 5 },
      ),
    ).toEqual({
      keyRecheckIntervalMinutes: 5,
      keyValidationConcurrency: 4,
      keyValidationTimeoutSeconds: defaultSettings.keyValidationTimeoutSeconds,
    });
  });

  it('falls back to the defaults when nothing is set', () => {
    expect(resolveValidationSettings({})).toEqual({
      keyRecheckIntervalMinutes: 60,
      keyValidationConcurrency: 10,
      keyValidationTimeoutSeconds: 20,
    });
  });
});

describe('isCompleteValidationSettings', () => {
  it('is true only when all three settings are present', () => {
    expect(isCompleteValidationSettings(undefined)).toBe(false);
    expect(isCompleteValidationSettings({ keyRecheckIntervalMinutes: 1, keyValidationConcurrency: 1 })).toBe(
      false,
    );
    expect(
      isCompleteValidationSettings({
        keyRecheckIntervalMinutes: 1,
        keyValidationConcurrency: 1,
        keyValidationTimeoutSeconds: 1,
      }),
    ).toBe(true);
  });
});

describe('isRecheckDue', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  it('is due when never validated or once the interval has fully elapsed', () => {
    expect(isRecheckDue(null, 60, now)).toBe(true);
    expect(isRecheckDue(new Date(now - 60 * 60_000), 60, now)).toBe(true);
    expect(isRecheckDue(new Date(now - 60 * 60_000 + 1), 60, now)).toBe(false);
  });
});
