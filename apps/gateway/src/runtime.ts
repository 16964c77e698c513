import type {
  AccessKeyLimits,
  Affinity,
  KeyLimits,
  AccessKeySnapshot,
  ConfigSnapshot,
  EffectiveSettings,
  GroupSnapshot,
  HeaderRule,
} from '@keyway/contracts';
import {
  hasCostLimit,
  hasKeyLimits,
  modelMatcher,
  parseStatusCodeSpec,
  statusMatcher,
} from '@keyway/contracts';
import { accessKeyRules } from '@keyway/limits';
import type { LimitRule } from '@keyway/limits';
import { SmoothWeightedRoundRobin, unsendableConfig } from '@keyway/core';
import type { ConfigProblem, HealthPolicy } from '@keyway/core';
import { providerFor } from '@keyway/providers';
import type { Provider } from '@keyway/providers';

/** One upstream base URL, split once so each attempt only concatenates strings. */
export interface UpstreamRuntime {
  url: string;
  weight: number;
  origin: string;
  basePath: string;
}

/** A group compiled for the hot path. */
export interface GroupRuntime {
  id: number;
  name: string;
  type: 'standard' | 'aggregate';
  provider: Provider;
  settings: EffectiveSettings;
  policy: HealthPolicy;
  upstreams: SmoothWeightedRoundRobin<UpstreamRuntime>;
  proxyKeyHashes: ReadonlySet<string>;
  paramOverrides: Record<string, unknown> | null;
  modelRedirects: Record<string, string> | null;
  modelRedirectStrict: boolean;
  headerRules: readonly HeaderRule[];
  /** GPT-Load's forced failover statuses, when configured. */
  failover: ((status: number) => boolean) | undefined;
  /** Sub-groups of an aggregate, weighted (all tiers). */
  subGroups: SmoothWeightedRoundRobin<Member>;
  /**
   * An aggregate's members by tier, best (lowest `priority`) first, each spread by weight; [] for a standard group.
   */
  memberTiers: ReadonlyArray<SmoothWeightedRoundRobin<Member>>;
  /** Alias → the models a request naming it is tried as, in order (null: no aliases). */
  modelAliases: ReadonlyMap<string, readonly string[]> | null;
  /** Upstream-key byte limit for request bodies. */
  maxBodyBytes: number;
  /**
   * The first part of the group's own configuration that no request can be sent with (then every request answers
   * 500 GATEWAY_CONFIG before a key is picked), or null.
   */
  configProblem: ConfigProblem | null;
  /** Whether the key-routed endpoints may send a request for `model` here (the group's `models` globs). */
  servesModel: (model: string) => boolean;
  /** Pacing limits per upstream key (null: none configured). */
  keyLimits: KeyLimits | null;
  /** Session affinity (null: off). */
  affinity: Affinity | null;
  /** The IANA zone daily key limits reset in (the channel's default resolved). */
  dailyResetTimeZone: string;
  /**
   * The egress proxies its keys leave through: the group's `proxyPool`, else its effective `proxyUrl`; [] = direct.
   * With more than one, each key is pinned to one of them (`UpstreamClients.proxyFor`).
   */
  proxies: readonly string[];
  /**
   * Caller dialects the group also accepts, translated to and from its channel (`translate.from`); null = none,
   * the one check a native request pays.
   */
  translate: readonly string[] | null;
}

/** A member of an aggregate. */
export interface Member {
  weight: number;
  group: GroupRuntime;
}

/**
 * The models a request naming `model` is tried as in `group`, in order: the alias's list, or the model itself. One
 * level only: a listed model that is itself an alias is sent as named.
 */
export function modelsFor(group: GroupRuntime, model: string | null): ReadonlyArray<string | null> {
  return (model !== null && group.modelAliases?.get(model)) || [model];
}

/** Models remembered per group by a {@link GroupModelMemo}: clients name models freely, so the memory is bounded. */
const MEMO_MODELS_PER_GROUP = 1000;

/**
 * What `compute` gives for a group and the model a request names, worked out once and remembered per group object
 * (a reload makes new groups, so nothing outlives its configuration) and model (null kept as `''`). `tag` is what
 * else the value was computed from (e.g. the runtime's price table): a different one forgets the group's values.
 */
export class GroupModelMemo<T, Tag = undefined> {
  private readonly byGroup = new WeakMap<GroupRuntime, { tag: Tag; byModel: Map<string, T> }>();

  constructor(private readonly compute: (group: GroupRuntime, model: string | null, tag: Tag) => T) {}

  get(group: GroupRuntime, model: string | null, tag: Tag): T {
    let memo = this.byGroup.get(group);
    if (!memo || memo.tag !== tag) {
      memo = { tag, byModel: new Map() };
      this.byGroup.set(group, memo);
    }
    const key = model ?? '';
    let value = memo.byModel.get(key);
    if (value === undefined) {
      if (memo.byModel.size >= MEMO_MODELS_PER_GROUP) memo.byModel.clear();
      value = this.compute(group, model, tag);
      memo.byModel.set(key, value);
    }
    return value;
  }
}

/** The model a request for `model` sends upstream through `group` (its model redirect applied). */
export function sentModel(group: GroupRuntime, model: string | null): string | null {
  if (model === null) return null;
  return group.modelRedirects?.[model] ?? model;
}

/** An access key compiled for the hot path (found by the hash of the presented secret). */
export interface AccessKeyRuntime {
  id: number;
  name: string;
  /** The groups it may use, in the order key-routed requests try them (`"*"` resolved to display order). */
  groups: readonly GroupRuntime[];
  groupIds: ReadonlySet<number>;
  /** Whether the model the client named is allowed (`models` globs; none = any). */
  allowsModel: (model: string) => boolean;
  limits: AccessKeyLimits;
  /** The counter layer's rules for these limits (`rpm` always, observed when unlimited). */
  rules: readonly LimitRule[];
  /** Any USD limit: unpriced models are refused. */
  costLimited: boolean;
  expiresAtMs: number | null;
  enabled: boolean;
}

/** One price-table entry (USD per million tokens). */
export interface PriceRuntime {
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok: number | null;
}

/** The compiled configuration a gateway serves from. */
export interface GatewayRuntime {
  version: number;
  settings: EffectiveSettings;
  proxyKeyHashes: ReadonlySet<string>;
  groups: ReadonlyMap<string, GroupRuntime>;
  groupsById: ReadonlyMap<number, GroupRuntime>;
  /** Every group in display order. */
  groupList: readonly GroupRuntime[];
  /** Access keys by the hash of their secret (`hashProxyKey`). */
  accessKeys: ReadonlyMap<string, AccessKeyRuntime>;
  /** The price table by model name (look up with `lookupPrice`). */
  prices: ReadonlyMap<string, PriceRuntime>;
}

function compileUpstream(u: { url: string; weight: number }): UpstreamRuntime | null {
  // Stored data may predate URL validation: an unparseable URL makes its group unservable, not the snapshot.
  let parsed: URL;
  try {
    parsed = new URL(u.url);
  } catch {
    return null;
  }
  return {
    url: u.url,
    weight: u.weight,
    origin: parsed.origin,
    basePath: parsed.pathname.replace(/\/+$/, ''),
  };
}

function nonEmpty<T extends object>(o: T): T | null {
  return Object.keys(o).length > 0 ? o : null;
}

function compileGroup(g: GroupSnapshot, base: Omit<EffectiveSettings, 'proxyKeys'>): GroupRuntime {
  const settings: EffectiveSettings = { ...base, proxyKeys: [], ...stripNullish(g.config) };
  const spec =
    settings.failoverStatusCodes === null ? null : parseStatusCodeSpec(settings.failoverStatusCodes);
  const problems = unsendableConfig(g);
  const upstreams = g.upstreams.map(compileUpstream).filter((u): u is UpstreamRuntime => u !== null);
  const aliases = g.modelAliases && nonEmpty(g.modelAliases) ? new Map(Object.entries(g.modelAliases)) : null;
  const globs = modelMatcher(g.models ?? []);
  return {
    id: g.id,
    name: g.name,
    type: g.type,
    provider: providerFor(g.channel),
    settings,
    policy: {
      blacklistThreshold: settings.blacklistThreshold,
      rateLimitCooldownSeconds: settings.rateLimitCooldownSeconds,
      rateLimitMaxCooldownSeconds: settings.rateLimitMaxCooldownSeconds,
      quotaCooldownMinutes: settings.quotaCooldownMinutes,
    },
    upstreams: new SmoothWeightedRoundRobin(upstreams),
    proxyKeyHashes: new Set(g.proxyKeyHashes),
    paramOverrides: nonEmpty(g.paramOverrides),
    modelRedirects: nonEmpty(g.modelRedirects),
    modelRedirectStrict: g.modelRedirectStrict,
    headerRules: g.headerRules,
    failover: spec?.ok ? statusMatcher(spec.ranges) : undefined,
    subGroups: new SmoothWeightedRoundRobin([]),
    memberTiers: [],
    modelAliases: aliases,
    maxBodyBytes: settings.maxRequestBodyMb * 1024 * 1024,
    configProblem: problems[0] ?? null,
    // A group serves its own aliases even when its globs name only the models behind them.
    servesModel: aliases ? (m) => aliases.has(m) || globs(m) : globs,
    keyLimits: hasKeyLimits(g.keyLimits) ? g.keyLimits : null,
    affinity: g.affinity.mode === 'session' ? g.affinity : null,
    dailyResetTimeZone: g.dailyResetTimeZone,
    proxies: g.proxyPool?.length ? g.proxyPool : settings.proxyUrl ? [settings.proxyUrl] : [],
    translate: g.translate?.length ? g.translate : null,
  };
}

function compileAccessKey(
  a: AccessKeySnapshot,
  byId: ReadonlyMap<number, GroupRuntime>,
  all: readonly GroupRuntime[],
): AccessKeyRuntime {
  // A deleted group drops out; ids are kept in the key's own order.
  const groups =
    a.groups === '*'
      ? all
      : a.groups.map((id) => byId.get(id)).filter((g): g is GroupRuntime => g !== undefined);
  const expires = a.expiresAt === null ? null : Date.parse(a.expiresAt);
  return {
    id: a.id,
    name: a.name,
    groups,
    groupIds: new Set(groups.map((g) => g.id)),
    allowsModel: modelMatcher(a.models),
    limits: a.limits,
    rules: accessKeyRules(a.limits),
    costLimited: hasCostLimit(a.limits),
    expiresAtMs: expires === null || Number.isNaN(expires) ? null : expires,
    enabled: a.enabled,
  };
}

function stripNullish<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Compiles a configuration snapshot; weighted selectors start fresh, which is harmless. */
export function compileRuntime(snapshot: ConfigSnapshot): GatewayRuntime {
  const settings: EffectiveSettings = { ...snapshot.settings, proxyKeys: [] };
  const byId = new Map<number, GroupRuntime>();
  for (const g of snapshot.groups) byId.set(g.id, compileGroup(g, snapshot.settings));
  for (const g of snapshot.groups) {
    if (g.type !== 'aggregate') continue;
    const members = g.subGroups
      .map((s) => ({ weight: s.weight, group: byId.get(s.groupId), priority: s.priority ?? 1 }))
      .filter(
        (s): s is Member & { priority: number } => s.group !== undefined && s.group.type === 'standard',
      );
    const aggregate = byId.get(g.id) as GroupRuntime;
    aggregate.subGroups = new SmoothWeightedRoundRobin(
      members.map(({ weight, group }) => ({ weight, group })),
    );
    aggregate.memberTiers = [...new Set(members.map((m) => m.priority))]
      .sort((a, b) => a - b)
      .map(
        (p) =>
          new SmoothWeightedRoundRobin(
            members.filter((m) => m.priority === p).map(({ weight, group }) => ({ weight, group })),
          ),
      );
  }
  const byName = new Map<string, GroupRuntime>();
  for (const g of byId.values()) byName.set(g.name, g);
  const groupList = [...byId.values()];
  const accessKeys = new Map<string, AccessKeyRuntime>();
  for (const a of snapshot.accessKeys ?? []) accessKeys.set(a.hash, compileAccessKey(a, byId, groupList));
  const prices = new Map<string, PriceRuntime>();
  for (const p of snapshot.prices ?? []) prices.set(p.model, p);
  return {
    version: snapshot.version,
    settings,
    proxyKeyHashes: new Set(snapshot.proxyKeyHashes),
    groups: byName,
    groupsById: byId,
    groupList,
    accessKeys,
    prices,
  };
}
