import { describe, expect, it } from 'vitest';
import { group } from '../../testing/fixtures';
import {
  buildCreate,
  buildPatch,
  emptyForm,
  formFromGroup,
  switchChannel,
  withListErrors,
} from './group-form';
import type { Describe } from './group-form';

const describeProblem: Describe = (problem, detail) => (detail ? `${problem}: ${detail}` : problem);

function standardForm() {
  const form = emptyForm('standard');
  form.name = 'openai-main';
  return form;
}

describe('buildCreate', () => {
  it('sends model globs for key-routed endpoints, trimmed, blanks dropped, on standard and aggregate groups', () => {
    for (const type of ['standard', 'aggregate'] as const) {
      const form = emptyForm(type);
      form.name = 'routed';
      form.models = [' gpt-4o* ', '', 'o3-?'];
      const r = buildCreate(form, describeProblem);
      expect(r.ok && r.body.models).toEqual(['gpt-4o*', 'o3-?']);
    }
    expect(formFromGroup(group({ models: ['claude-*'] })).models).toEqual(['claude-*']);
  });

  it('shows an invalid glob on the models field', () => {
    const form = standardForm();
    form.models = ['ok-*', 'bad\u0000'];
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.models).toMatch(/^#2: /);
  });

  it('builds the POST body of a standard group', () => {
    const form = standardForm();
    form.paramOverridesText = '{"temperature": 0.2}';
    form.modelRedirectsText = '{"gpt-4": "gpt-4.1"}';
    form.headerRules = [{ action: 'set', key: 'X-Team', value: '${GROUP_NAME}' }];
    form.overrides = [{ key: 'maxRetries', value: 2 }];
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toMatchObject({
      name: 'openai-main',
      type: 'standard',
      upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
      paramOverrides: { temperature: 0.2 },
      modelRedirects: { 'gpt-4': 'gpt-4.1' },
      headerRules: [{ action: 'set', key: 'X-Team', value: '${GROUP_NAME}' }],
      config: { maxRetries: 2 },
    });
  });

  it('refuses a name the API would refuse, with the console wording', () => {
    const form = standardForm();
    form.name = 'OpenAI Main';
    const r = buildCreate(form, describeProblem);
    expect(r).toEqual({ ok: false, errors: { name: 'nameRule' } });
  });

  it('reports JSON syntax errors on the editor that has them', () => {
    const form = standardForm();
    form.paramOverridesText = '{"temperature": 0.2,}';
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.paramOverrides).toMatch(/^jsonSyntax: /);
    expect(Object.keys(r.errors)).toEqual(['paramOverrides']);
  });

  it('wants a JSON object, and redirect targets that are model names', () => {
    const form = standardForm();
    form.paramOverridesText = '[1, 2]';
    form.modelRedirectsText = '{"gpt-4": 4}';
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toEqual({
      paramOverrides: 'jsonNotObject',
      modelRedirects: 'redirectNotString',
    });
  });

  it('checks upstream URLs and duplicate header rules with the contracts schema', () => {
    const form = standardForm();
    form.upstreams = [{ url: 'ftp://example.com', weight: 1 }];
    form.headerRules = [
      { action: 'set', key: 'X-A', value: '1' },
      { action: 'remove', key: 'x-a', value: '' },
    ];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toMatchObject({
      'upstreams.0.url': 'urlInvalid',
      'headerRules.1.key': 'duplicate header',
    });
  });

  it('requires an upstream for a standard group', () => {
    const form = standardForm();
    form.upstreams = [];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toEqual({ upstreams: 'at least one upstream is required' });
  });

  it('sends an aggregate group with its members and no upstream fields', () => {
    const form = emptyForm('aggregate');
    form.name = 'all-openai';
    form.subGroups = [
      { groupId: 7, weight: 3, priority: 1 },
      { groupId: undefined, weight: 1, priority: 1 }, // an unfinished row is left out
    ];
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toMatchObject({
      type: 'aggregate',
      upstreams: [],
      subGroups: [{ groupId: 7, weight: 3, priority: 1 }],
    });
  });
});

describe('buildPatch', () => {
  it('keeps the stored proxy keys by leaving them out when the list did not change', () => {
    const original = group({ proxyKeys: ['sk-a***wxyz'] });
    const r = buildPatch(formFromGroup(original), original, describeProblem);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).not.toHaveProperty('proxyKeys');
    expect(r.body).not.toHaveProperty('type');
  });

  it('sends the whole list (masked old keys included) when a key is added', () => {
    const original = group({ proxyKeys: ['sk-a***wxyz'] });
    const form = formFromGroup(original);
    form.proxyKeys.push('sk-new-secret-value-0123456789');
    const r = buildPatch(form, original, describeProblem);
    expect(r.ok && r.body.proxyKeys).toEqual(['sk-a***wxyz', 'sk-new-secret-value-0123456789']);
  });
});

describe('form helpers', () => {
  it('moves an untouched default upstream along when the channel changes', () => {
    const form = standardForm();
    form.upstreams.push({ url: 'https://my-proxy.example.com', weight: 2 });
    switchChannel(form, 'anthropic');
    expect(form.upstreams.map((u) => u.url)).toEqual([
      'https://api.anthropic.com',
      'https://my-proxy.example.com',
    ]);
  });
});

describe('operator input the API refuses', () => {
  it('names credentials and line breaks in an upstream URL instead of a generic message', () => {
    const form = standardForm();
    form.upstreams = [
      { url: 'http://user:pass@api.example.com', weight: 1 },
      { url: 'http://api.example.com/v1\r\nX: 1', weight: 1 },
    ];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toMatchObject({
      'upstreams.0.url': 'urlCredentials',
      'upstreams.1.url': 'urlCharacters',
    });
  });

  it('refuses header rules the gateway could not send, at the rule', () => {
    const form = standardForm();
    form.headerRules = [
      { action: 'set', key: 'Host', value: 'x' },
      { action: 'set', key: 'X-A', value: 'a\r\nb' },
    ];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toMatchObject({
      'headerRules.0.key': expect.stringMatching(/hop-by-hop/) as unknown,
      'headerRules.1.value': 'must not contain line breaks (CR or LF)',
    });
  });

  it("shows a proxy key's error (e.g. the API's strength check) on the key list", () => {
    expect(withListErrors({ 'proxyKeys.1': 'too weak (shorter than 16 characters)' })).toEqual({
      'proxyKeys.1': 'too weak (shorter than 16 characters)',
      proxyKeys: '#2: too weak (shorter than 16 characters)',
    });
  });
});

describe('smarter pool fields', () => {
  it('sends key limits, session affinity and the reset zone of a standard group', () => {
    const form = standardForm();
    form.channel = 'gemini';
    form.keyLimits.default = { rpm: 10, tpm: null, rpd: 250 };
    form.keyLimits.models.push({ model: 'gemini-2.5-pro', rpm: 5, tpm: null, rpd: 100 });
    form.affinity = { mode: 'session', header: ' X-Conversation ', ttlSeconds: 600 };
    form.dailyResetTimeZone = ' Europe/Berlin ';
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toMatchObject({
      keyLimits: {
        default: { rpm: 10, tpm: null, rpd: 250 },
        models: { 'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 } },
        total: null,
      },
      affinity: { mode: 'session', header: 'x-conversation', ttlSeconds: 600 },
      dailyResetTimeZone: 'Europe/Berlin',
    });
  });

  it('sends no limits and the channel default zone when those fields are left empty', () => {
    const r = buildCreate(standardForm(), describeProblem);
    expect(r.ok && r.body).toMatchObject({
      keyLimits: null,
      affinity: { mode: 'off', header: 'x-session-id', ttlSeconds: 3600 },
      dailyResetTimeZone: null,
    });
  });

  it('clears stored limits on edit when every input is emptied', () => {
    const original = group({
      keyLimits: { default: { rpm: 10, tpm: null, rpd: null }, models: {}, total: null },
      dailyResetTimeZone: 'Asia/Tokyo',
    });
    const form = formFromGroup(original);
    expect(form.keyLimits.default.rpm).toBe(10);
    expect(form.dailyResetTimeZone).toBe('Asia/Tokyo');
    form.keyLimits.default.rpm = null;
    form.dailyResetTimeZone = '';
    const r = buildPatch(form, original, describeProblem);
    expect(r.ok && r.body).toMatchObject({ keyLimits: null, dailyResetTimeZone: null });
  });

  it('shows problems on the field that has them: a zone, a header, a limit, an unnamed model', () => {
    const form = standardForm();
    form.dailyResetTimeZone = 'Mars/Olympus';
    form.affinity.header = 'bad header';
    form.keyLimits.total = { rpm: 2_000_000_000, tpm: null, rpd: null };
    form.keyLimits.models.push({ model: '', rpm: 1, tpm: null, rpd: null });
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toMatchObject({
      dailyResetTimeZone: expect.stringMatching(/IANA/) as unknown,
      'affinity.header': 'not a valid HTTP header name',
      'keyLimits.total.rpm': expect.any(String) as unknown,
      'keyLimits.models.0': 'modelMissing',
    });
  });

  it('leaves pacing and affinity to the sub-groups of an aggregate', () => {
    const form = emptyForm('aggregate');
    form.name = 'all-gemini';
    form.keyLimits.default.rpm = 5;
    const r = buildCreate(form, describeProblem);
    expect(r.ok && r.body.keyLimits).toBe(null);
  });
});
