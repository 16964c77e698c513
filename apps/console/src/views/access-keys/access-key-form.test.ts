import { describe, expect, it } from 'vitest';
import { accessKey } from '../../testing/fixtures';
import { buildBody, emptyForm, errorsFromApi, formFromKey } from './access-key-form';

describe('access key form', () => {
  it('builds the API body: ordered groups, trimmed globs, cleared limits as null', () => {
    const form = emptyForm();
    form.name = '  team-a ';
    form.groups = [5, 3];
    form.models = [' gpt-4o* ', '', 'claude-*'];
    form.limits.rpm = 60;
    form.limits.costUsdPerDay = 20.5;
    form.limits.tpm = 0;
    const built = buildBody(form);
    expect(built).toEqual({
      ok: true,
      body: {
        name: 'team-a',
        groups: [5, 3],
        models: ['gpt-4o*', 'claude-*'],
        limits: {
          rpm: 60,
          tpm: null,
          rpd: null,
          tokensPerDay: null,
          tokensPerMonth: null,
          costUsdPerDay: 20.5,
          costUsdPerMonth: null,
          costUsdTotal: null,
        },
        expiresAt: null,
        enabled: true,
        notes: '',
      },
    });
  });

  it('sends "*" for every group, whatever was picked before', () => {
    const form = emptyForm();
    form.name = 'all';
    form.groups = [1];
    form.allGroups = true;
    const built = buildBody(form);
    expect(built.ok && built.body.groups).toBe('*');
  });

  it('refuses a blank name, a fractional request limit and a control character in a glob, on their fields', () => {
    const form = emptyForm();
    form.name = '   ';
    form.limits.rpm = 1.5;
    form.models = ['gpt\u0000'];
    const built = buildBody(form);
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(Object.keys(built.errors).sort()).toEqual(['limits.rpm', 'models', 'name']);
  });

  it('round-trips a key read from the API', () => {
    const k = accessKey(7, {
      name: 'ops',
      groups: '*',
      models: ['gemini-*'],
      limits: { ...accessKey(7).limits, costUsdTotal: 100 },
      expiresAt: '2027-01-01T00:00:00.000Z',
      enabled: false,
      notes: 'on-call',
    });
    const built = buildBody(formFromKey(k));
    expect(built).toEqual({
      ok: true,
      body: {
        name: 'ops',
        groups: '*',
        models: ['gemini-*'],
        limits: k.limits,
        expiresAt: '2027-01-01T00:00:00.000Z',
        enabled: false,
        notes: 'on-call',
      },
    });
  });

  it('puts API errors about one list entry on the list', () => {
    expect(errorsFromApi({ 'models.2': 'bad glob', 'limits.rpm': 'too big' })).toEqual({
      models: 'bad glob',
      'limits.rpm': 'too big',
    });
  });
});
