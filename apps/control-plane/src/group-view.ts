import type {
  Affinity,
  Group,
  GroupConfig,
  HeaderRule,
  KeyLimits,
  KeyStats,
  Translate,
  Upstream,
} from '@keyway/contracts';
import {
  affinitySchema,
  defaultAffinity,
  headerRuleSchema,
  keyLimitsSchema,
  maskProxyUrl,
  readGroupConfig,
  translateSchema,
} from '@keyway/contracts';
import { z } from 'zod';
import type { StoredProxyKey } from './settings-store';

/** A group row with its sub-group links, as read from the database. */
export interface GroupRow {
  id: number;
  name: string;
  displayName: string;
  description: string;
  type: string;
  channel: string;
  upstreams: unknown;
  testModel: string;
  validationEndpoint: string;
  proxyKeys: unknown;
  paramOverrides: unknown;
  modelRedirects: unknown;
  modelRedirectStrict: boolean;
  /** null on rows written before groups had model aliases (and when none are set) */
  modelAliases?: unknown;
  /** null on rows written before groups had model globs */
  models: unknown;
  /** null on rows written before the smarter pool (and when none are set) */
  keyLimits: unknown;
  affinity: unknown;
  dailyResetTimeZone: string | null;
  /** Egress proxy URLs (credentials included); null on rows written before groups had a proxy pool */
  proxyPool?: unknown;
  /** Translate; null on rows written before format translation (and when off) */
  translate?: unknown;
  headerRules: unknown;
  config: unknown;
  sort: number;
  createdAt: Date;
  updatedAt: Date;
  subGroups: Array<{ subGroupId: number; weight: number; priority: number; subGroup?: { name: string } }>;
}

const noTranslation: Translate = { from: [] };
const upstreamsSchema = z.array(z.object({ url: z.string(), weight: z.number().int() }));
const storedProxyKeysSchema = z.array(
  z.object({ hash: z.string(), masked: z.string(), weak: z.string().optional() }),
);
const recordSchema = z.record(z.string(), z.unknown());
const redirectsSchema = z.record(z.string(), z.string());
const aliasesSchema = z.record(z.string(), z.array(z.string()));

/** Reads a JSON column defensively: a row written by an older version never breaks the API. */
function json<T>(schema: z.ZodType<T>, value: unknown, fallback: T): T {
  const r = schema.safeParse(value);
  return r.success ? r.data : fallback;
}

/** The typed JSON columns of a group row. */
export function groupJson(row: GroupRow): {
  upstreams: Upstream[];
  proxyKeys: StoredProxyKey[];
  paramOverrides: Record<string, unknown>;
  modelRedirects: Record<string, string>;
  modelAliases: Record<string, string[]>;
  models: string[];
  keyLimits: KeyLimits | null;
  affinity: Affinity;
  headerRules: HeaderRule[];
  config: GroupConfig;
  proxyPool: string[];
  translate: Translate;
} {
  return {
    upstreams: json(upstreamsSchema, row.upstreams, []),
    proxyKeys: json(storedProxyKeysSchema, row.proxyKeys, []),
    paramOverrides: json(recordSchema, row.paramOverrides, {}),
    modelRedirects: json(redirectsSchema, row.modelRedirects, {}),
    modelAliases: json(aliasesSchema, row.modelAliases ?? {}, {}),
    models: json(z.array(z.string()), row.models, []),
    keyLimits: json(keyLimitsSchema.nullable(), row.keyLimits ?? null, null),
    affinity: json(affinitySchema, row.affinity ?? defaultAffinity, defaultAffinity),
    headerRules: json(z.array(headerRuleSchema), row.headerRules, []),
    config: readGroupConfig(row.config),
    proxyPool: json(z.array(z.string()), row.proxyPool ?? [], []),
    translate: json(translateSchema, row.translate ?? noTranslation, noTranslation),
  };
}

/**
 * An upstream URL without its user name and password. Written before they were refused, such credentials were
 * never sent (connections use the origin) but were shown in clear; now they are masked, so sending the group
 * back asks the operator to remove them.
 */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

/** A group as the admin API returns it (proxy keys and the credentials of proxy URLs masked). */
export function toGroupView(row: GroupRow, appUrl: string, keyStats: KeyStats): Group {
  const j = groupJson(row);
  return {
    id: row.id,
    name: row.name,
    displayName: row.displayName,
    description: row.description,
    type: row.type as Group['type'],
    channel: row.channel as Group['channel'],
    upstreams: j.upstreams.map((u) => ({ ...u, url: withoutCredentials(u.url) })),
    testModel: row.testModel,
    validationEndpoint: row.validationEndpoint,
    proxyKeys: j.proxyKeys.map((k) => k.masked),
    proxyPool: j.proxyPool.map(maskProxyUrl),
    paramOverrides: j.paramOverrides,
    modelRedirects: j.modelRedirects,
    modelRedirectStrict: row.modelRedirectStrict,
    modelAliases: j.modelAliases,
    models: j.models,
    keyLimits: j.keyLimits,
    affinity: j.affinity,
    dailyResetTimeZone: row.dailyResetTimeZone,
    translate: j.translate,
    headerRules: j.headerRules,
    config: j.config.proxyUrl ? { ...j.config, proxyUrl: maskProxyUrl(j.config.proxyUrl) } : j.config,
    subGroups: row.subGroups.map((s) => ({
      groupId: s.subGroupId,
      weight: s.weight,
      priority: s.priority,
      ...(s.subGroup ? { name: s.subGroup.name } : {}),
    })),
    sort: row.sort,
    endpoint: `${appUrl.replace(/\/+$/, '')}/proxy/${row.name}`,
    keyStats,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
