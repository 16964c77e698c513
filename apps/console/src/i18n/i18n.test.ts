import {
  ACCESS_KEY_LIMITS,
  failureClassSchema,
  keyStatusSchema,
  rangeSchema,
  settingCategorySchema,
  priceSchema,
  settingDefinitions,
  usageDimensionSchema,
  warningTypeSchema,
} from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { routes } from '../router';
import { LOG_COLUMNS } from '../views/logs/log-columns';
import { USAGE_PAIRS } from '../views/access-keys/usage-bars';
import { HEADER_VARIABLES } from '../views/groups/group-form';
import { messages } from './index';

type Tree = { [k: string]: string | Tree };

/** Every leaf of a message tree as `path → text`. */
function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(path, v);
    else for (const [p, t] of leaves(v, path)) out.set(p, t);
  }
  return out;
}

const zh = leaves(messages['zh-CN']);
const en = leaves(messages['en-US']);

/** Source files as text (Vite's glob import: no file-system access needed). */
const sources = import.meta.glob<string>(['../**/*.vue', '../**/*.ts', '!../**/*.test.ts', '!../i18n/*.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** Keys passed as string literals to t(), $t() or te(), in scripts and templates. */
function usedKeys(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/(?<![\w.])\$?te?\(\s*'([A-Za-z][\w.-]*)'/g)) {
      if (m[1]?.includes('.')) out.set(m[1], file);
    }
  }
  return out;
}

describe('i18n messages', () => {
  it('has the same keys in zh-CN and en-US', () => {
    expect([...zh.keys()].filter((k) => !en.has(k))).toEqual([]);
    expect([...en.keys()].filter((k) => !zh.has(k))).toEqual([]);
  });

  it('has no empty message and only `{name}` placeholders (no stray vue-i18n syntax)', () => {
    for (const [locale, tree] of [
      ['zh-CN', zh],
      ['en-US', en],
    ] as const) {
      for (const [key, text] of tree) {
        expect(text.trim(), `${locale} ${key}`).not.toBe('');
        expect(text.replace(/\{\w+\}/g, ''), `${locale} ${key}`).not.toMatch(/[{}@|]/);
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const names = (t: string) => [...t.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of en) expect(names(zh.get(key) ?? ''), key).toEqual(names(text));
  });

  it('finds every key the sources use, in both languages', () => {
    const used = usedKeys();
    expect(used.size).toBeGreaterThan(150); // the scan really reads the sources
    const missing = [...used].filter(([k]) => !zh.has(k) || !en.has(k)).map(([k, f]) => `${k} (${f})`);
    expect(missing).toEqual([]);
  });

  it('covers the keys built at run time from API enums, columns and routes', () => {
    const dynamic = [
      ...keyStatusSchema.options.map((s) => `keyState.${s}`),
      ...settingCategorySchema.options.map((c) => `settings.categories.${c}`),
      ...failureClassSchema.options.map((c) => `logs.class.${c}`),
      ...warningTypeSchema.options.map((w) => `dashboard.warningTypes.${w}`),
      ...rangeSchema.options.map((r) => `groups.stats.window.${r}`),
      ...Object.keys(settingDefinitions).flatMap((k) => [
        `settingFields.${k}.label`,
        `settingFields.${k}.description`,
      ]),
      ...LOG_COLUMNS.map((c) => `logs.col.${c.key}`),
      ...HEADER_VARIABLES.map((v) => `groups.form.vars.${v}`),
      ...['active', 'disabled', 'unavailable'].map((s) => `subGroups.states.${s}`),
      ...ACCESS_KEY_LIMITS.flatMap((l) => [`accessKeys.limits.${l}`, `accessKeys.limitShort.${l}`]),
      ...USAGE_PAIRS.map((p) => `accessKeys.usage.${p.limit}`),
      ...priceSchema.shape.source.options.map((s) => `prices.sources.${s}`),
      ...usageDimensionSchema.options.map((b) => `usage.by.${b}`),
      ...routes
        .flatMap((r) => [r, ...(r.children ?? [])])
        .flatMap((r) => (r.meta?.title ? [r.meta.title] : [])),
    ];
    expect(dynamic.filter((k) => !zh.has(k) || !en.has(k))).toEqual([]);
  });
});
