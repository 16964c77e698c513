import { describe, expect, it } from 'vitest';
import { group } from '../../testing/fixtures';
import {
  buildCreate,
  buildPatch,
  emptyForm,
  formFromGroup,
  switchChannel,
  translatableFrom,
} from './group-form';
import type { Describe } from './group-form';
import {
  aliasError,
  aliasesBody,
  proxyHealthOf,
  subGroupRows,
  subGroupsBody,
  tierShares,
} from './routing-form';

const describeProblem: Describe = (problem, detail) => (detail ? `${problem}: ${detail}` : problem);

const MASKED = 'http://…@proxy-a.example.com:3128';

describe('proxy pool', () => {
  it('sends saved proxies back exactly as the API masked them, with new ones in full', () => {
    const original = group({ proxyPool: [MASKED, 'socks5h://proxy-b.example.com:1080'] });
    const form = formFromGroup(original);
    expect(form.proxyPool).toEqual(original.proxyPool);
    form.proxyPool.push(' socks5://user:secret@proxy-c.example.com:1080 ');
    const r = buildPatch(form, original, describeProblem);
    expect(r.ok && r.body.proxyPool).toEqual([
      MASKED,
      'socks5h://proxy-b.example.com:1080',
      'socks5://user:secret@proxy-c.example.com:1080',
    ]);
  });

  it('sends an emptied pool as [] (the keys go back to the egress proxy setting)', () => {
    const original = group({ proxyPool: [MASKED] });
    const form = formFromGroup(original);
    form.proxyPool.splice(0, 1);
    const r = buildPatch(form, original, describeProblem);
    expect(r.ok && r.body.proxyPool).toEqual([]);
  });

  it('puts a refused proxy on its own row, keeping rows in place', () => {
    const form = emptyForm('standard');
    form.name = 'pooled';
    form.proxyPool = ['socks5://ok.example.com:1080', 'ftp://bad.example.com', 'http://p.example.com/path'];
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).filter((p) => p.startsWith('proxyPool.'))).toEqual([
      'proxyPool.1',
      'proxyPool.2',
    ]);
  });

  it('sends no pool on an aggregate group, which has no keys to pin', () => {
    const form = emptyForm('aggregate');
    form.name = 'all';
    form.proxyPool = ['socks5://p.example.com:1080'];
    const r = buildCreate(form, describeProblem);
    expect(r.ok && r.body.proxyPool).toEqual([]);
  });

  it('finds the health of a saved row and of a row typed with credentials, not of an unsaved one', () => {
    const items = [
      {
        proxy: MASKED,
        healthy: false,
        penalizedUntil: '2026-01-01T00:00:30.000Z',
        lastError: 'refused',
        keys: 3,
      },
    ];
    expect(proxyHealthOf(items, MASKED)?.keys).toBe(3);
    expect(proxyHealthOf(items, 'http://u:p@proxy-a.example.com:3128')?.healthy).toBe(false);
    expect(proxyHealthOf(items, 'http://proxy-z.example.com:3128')).toBeUndefined();
  });
});

describe('group egress proxy override', () => {
  it('tells inherit (no override) from direct (an empty override, sent as null) and keeps a masked override', () => {
    const inherit = formFromGroup(group());
    let r = buildPatch(inherit, group(), describeProblem);
    expect(r.ok && r.body.config).toEqual({});

    const direct = formFromGroup(group());
    direct.overrides.push({ key: 'proxyUrl', value: null });
    r = buildPatch(direct, group(), describeProblem);
    expect(r.ok && r.body.config).toEqual({ proxyUrl: null });

    const original = group({ config: { proxyUrl: MASKED } });
    r = buildPatch(formFromGroup(original), original, describeProblem);
    expect(r.ok && r.body.config).toEqual({ proxyUrl: MASKED });
  });
});

describe('model aliases', () => {
  it('round-trips aliases, trimmed, in order, skipping blank rows', () => {
    const original = group({ modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] } });
    const form = formFromGroup(original);
    expect(form.modelAliases).toEqual([{ alias: 'smart', models: ['gpt-4.1', 'gpt-4o'] }]);
    form.modelAliases.push({ alias: ' cheap ', models: [' gpt-4o-mini ', ''] }, { alias: '', models: [] });
    const r = buildPatch(form, original, describeProblem);
    expect(r.ok && r.body.modelAliases).toEqual({
      smart: ['gpt-4.1', 'gpt-4o'],
      cheap: ['gpt-4o-mini'],
    });
  });

  it('refuses a second row for the same alias on that row instead of dropping one', () => {
    const form = emptyForm('aggregate');
    form.name = 'aliased';
    form.modelAliases = [
      { alias: 'smart', models: ['a'] },
      { alias: 'smart', models: ['b'] },
    ];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : r.errors).toEqual({ 'modelAliasRows.1': 'aliasDuplicate' });
    expect(aliasesBody(form.modelAliases).aliases).toEqual({ smart: ['a'] });
  });

  it("shows the schema's complaint about an alias's models on that alias", () => {
    const form = emptyForm('standard');
    form.name = 'aliased';
    form.modelAliases = [{ alias: 'smart', models: ['smart'] }];
    const r = buildCreate(form, describeProblem);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(aliasError(r.errors, ' smart ')).toBe('an alias may not name itself');
    expect(aliasError(r.errors, 'other')).toBeUndefined();
  });
});

describe('tiers', () => {
  it('reads sub-groups best tier first and sends each with its tier', () => {
    const rows = subGroupRows([
      { groupId: 3, weight: 1, priority: 2 },
      { groupId: 1, weight: 2, priority: 1 },
      { groupId: 2, weight: 1, priority: 1 },
    ]);
    expect(rows.map((r) => r.groupId)).toEqual([1, 2, 3]);
    const withBlank = [...rows, { groupId: undefined, weight: 1, priority: 3 }];
    expect(subGroupsBody(withBlank)).toEqual([
      { groupId: 1, weight: 2, priority: 1 },
      { groupId: 2, weight: 1, priority: 1 },
      { groupId: 3, weight: 1, priority: 2 },
    ]);
  });

  it('splits traffic by weight inside each tier only', () => {
    const shares = tierShares([
      { weight: 3, priority: 1 },
      { weight: 1, priority: 1 },
      { weight: 5, priority: 2 },
      { weight: 0, priority: 3 },
    ]);
    expect(shares).toEqual([75, 25, 100, 0]);
  });

  it('refuses a tier below 1 on its row', () => {
    const form = emptyForm('aggregate');
    form.name = 'tiers';
    form.subGroups = [{ groupId: 7, weight: 1, priority: 0 }];
    const r = buildCreate(form, describeProblem);
    expect(r.ok ? null : Object.keys(r.errors)).toEqual(['subGroups.0.priority']);
  });
});

describe('format translation', () => {
  it('sends the dialects a group also accepts, and drops those its new channel cannot translate', () => {
    const form = emptyForm('standard', 'gemini');
    form.name = 'g';
    form.translateFrom = ['openai', 'anthropic'];
    const both = buildCreate(form, describeProblem);
    expect(both.ok && both.body.translate).toEqual({ from: ['openai', 'anthropic'] });
    switchChannel(form, 'anthropic');
    expect(form.translateFrom).toEqual(['openai']);
    const one = buildCreate(form, describeProblem);
    expect(one.ok && one.body.translate).toEqual({ from: ['openai'] });
    switchChannel(form, 'openai-response');
    expect(form.translateFrom).toEqual([]);
    expect(translatableFrom('openai-response')).toEqual([]);
  });

  it('shows what a saved group accepts', () => {
    const original = { ...group(), channel: 'anthropic' as const, translate: { from: ['openai' as const] } };
    expect(formFromGroup(original).translateFrom).toEqual(['openai']);
  });
});
