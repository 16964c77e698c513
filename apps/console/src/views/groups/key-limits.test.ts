import { keyLimitsSchema } from '@keyway/contracts';
import type { KeyLimits } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { keyLimitsBody, keyLimitsForm, limitSetText, usageFigures } from './key-limits';

const none = { rpm: null, tpm: null, rpd: null };

describe('keyLimitsBody', () => {
  it('sends null when no input holds a number', () => {
    expect(keyLimitsBody(keyLimitsForm(null))).toEqual({ keyLimits: null, problems: {} });
    const form = keyLimitsForm(null);
    // Cleared inputs (null) and untouched ones (undefined) both mean "no limit"; so does an unnamed blank row.
    form.default = { rpm: undefined, tpm: null, rpd: undefined };
    form.models.push({ model: '', rpm: null, tpm: null, rpd: null });
    expect(keyLimitsBody(form)).toEqual({ keyLimits: null, problems: {} });
  });

  it('sends the numbers that are set, each set null when all of its inputs are empty', () => {
    const form = keyLimitsForm(null);
    form.default = { rpm: 10, tpm: 250_000, rpd: null };
    expect(keyLimitsBody(form).keyLimits).toEqual({
      default: { rpm: 10, tpm: 250_000, rpd: null },
      models: {},
      total: null,
    });
    form.default = { ...none };
    form.total = { rpm: null, tpm: null, rpd: 500 };
    expect(keyLimitsBody(form).keyLimits).toEqual({
      default: null,
      models: {},
      total: { rpm: null, tpm: null, rpd: 500 },
    });
  });

  it('sends model overrides by trimmed name, an empty one exempting that model from the default', () => {
    const form = keyLimitsForm(null);
    form.default = { rpm: 10, tpm: null, rpd: 250 };
    form.models.push({ model: ' gemini-2.5-pro ', rpm: 5, tpm: null, rpd: 100 });
    form.models.push({ model: 'gemini-2.5-flash-lite', ...none });
    const { keyLimits, problems } = keyLimitsBody(form);
    expect(problems).toEqual({});
    expect(keyLimits?.models).toEqual({
      'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 },
      'gemini-2.5-flash-lite': none,
    });
    // What the console sends is what the API accepts, unchanged.
    expect(keyLimitsSchema.parse(keyLimits)).toEqual(keyLimits);
  });

  it('sends a model override alone, without default or total', () => {
    const form = keyLimitsForm(null);
    form.models.push({ model: 'gpt-4.1', rpm: null, tpm: 30_000, rpd: null });
    expect(keyLimitsBody(form).keyLimits).toEqual({
      default: null,
      models: { 'gpt-4.1': { rpm: null, tpm: 30_000, rpd: null } },
      total: null,
    });
  });

  it('names the row whose limits have no model, and a model listed twice', () => {
    const form = keyLimitsForm(null);
    form.models.push({ model: '', rpm: 3, tpm: null, rpd: null });
    form.models.push({ model: 'o3', rpm: 1, tpm: null, rpd: null });
    form.models.push({ model: 'o3 ', rpm: 2, tpm: null, rpd: null });
    expect(keyLimitsBody(form).problems).toEqual({
      'keyLimits.models.0': 'modelMissing',
      'keyLimits.models.2': 'modelDuplicate',
    });
  });
});

describe('keyLimitsForm', () => {
  it('fills every input from the API shape and round-trips it', () => {
    const limits: KeyLimits = {
      default: { rpm: 10, tpm: 250_000, rpd: 250 },
      models: { 'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 } },
      total: { rpm: 30, tpm: null, rpd: null },
    };
    const form = keyLimitsForm(limits);
    expect(form.models).toEqual([{ model: 'gemini-2.5-pro', rpm: 5, tpm: null, rpd: 100 }]);
    expect(form.total).toEqual({ rpm: 30, tpm: null, rpd: null });
    expect(keyLimitsBody(form).keyLimits).toEqual(limits);
  });

  it('starts blank for a group without limits', () => {
    expect(keyLimitsForm(null)).toEqual({ default: none, total: none, models: [] });
    expect(keyLimitsForm({ default: null, models: {}, total: null })).toEqual({
      default: none,
      total: none,
      models: [],
    });
  });
});

describe('usageFigures', () => {
  const usage = { rpmNow: 3, tpmNow: 12_000, requestsToday: 250 };

  it('shows usage against the total limits and flags the ones reached', () => {
    const r = usageFigures(usage, { default: null, models: {}, total: { rpm: 10, tpm: null, rpd: 250 } });
    expect(r.scope).toBe('total');
    expect(r.figures).toEqual([
      { field: 'rpm', used: 3, limit: 10, full: false },
      { field: 'tpm', used: 12_000, limit: null, full: false },
      { field: 'rpd', used: 250, limit: 250, full: true },
    ]);
  });

  it('shows the per-model default for scale without calling the key full', () => {
    const r = usageFigures(usage, { default: { rpm: 2, tpm: null, rpd: null }, models: {}, total: null });
    expect(r.scope).toBe('model');
    expect(r.figures[0]).toEqual({ field: 'rpm', used: 3, limit: 2, full: false });
  });
});

describe('limitSetText', () => {
  it('names the limits that are set, in rpm, tpm, rpd order', () => {
    expect(limitSetText({ rpm: 10, tpm: null, rpd: 250 }, String)).toBe('10 rpm · 250 rpd');
    expect(limitSetText({ rpm: null, tpm: null, rpd: null }, String)).toBe('');
    expect(limitSetText(null, String)).toBe('');
  });
});
