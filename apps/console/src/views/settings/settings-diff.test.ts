import { describeSettings } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { diffSettings, errorsBySetting, patchOf } from './settings-diff';

const schema = describeSettings();

describe('diffSettings', () => {
  it('lists only the settings that changed, in schema order, with before and after', () => {
    const saved = {
      maxRetries: 3,
      appUrl: 'http://a',
      proxyKeys: ['sk-a***1234'],
      failoverStatusCodes: null,
    };
    const draft = {
      maxRetries: 5,
      appUrl: 'http://b',
      proxyKeys: ['sk-a***1234'],
      failoverStatusCodes: null,
    };
    const changes = diffSettings(schema, saved, draft);
    expect(changes).toEqual([
      { key: 'appUrl', before: 'http://a', after: 'http://b', secret: false },
      { key: 'maxRetries', before: 3, after: 5, secret: false },
    ]);
    expect(patchOf(changes)).toEqual({ appUrl: 'http://b', maxRetries: 5 });
  });

  it('marks proxy keys as secret and compares lists by content', () => {
    const changes = diffSettings(schema, { proxyKeys: ['a'] }, { proxyKeys: ['a', 'sk-new'] });
    expect(changes).toEqual([{ key: 'proxyKeys', before: ['a'], after: ['a', 'sk-new'], secret: true }]);
    expect(diffSettings(schema, { proxyKeys: ['a'] }, { proxyKeys: ['a'] })).toEqual([]);
  });
});

describe('errorsBySetting', () => {
  it('files API validation paths under the setting they belong to', () => {
    expect(
      errorsBySetting({ 'proxyKeys.2': 'too long', maxRetries: 'too big', 'proxyKeys.3': 'again' }),
    ).toEqual({
      proxyKeys: 'too long',
      maxRetries: 'too big',
    });
  });
});
