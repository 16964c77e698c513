// GPT-Load 1.4.x rows → a Keyway import plan. Pure: no database, no clock. Anything that cannot be carried over
// is left out and named in `warnings` (or `settings.ignored`), so the operator can redo it by hand.
import { isWeakSecret } from '@keyway/config';
import type { HeaderRule, Upstream } from '@keyway/contracts';
import { channelSchema, groupNameSchema, headerRuleInputSchema, upstreamUrlProblem } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import { hashProxyKey } from '@keyway/keypool';
import { mapGroupConfig, mapSettings } from './map-settings';
import type { ImportPlan, PlannedGroup, PlannedKey, PlannedProxyKey } from './plan';
import type { GptLoadGroup, GptLoadSnapshot, JsonObject } from './types';

/** GPT-Load's `utils.StringToSet`: split on `,`, trim, drop empties (newlines do not separate). */
export function splitProxyKeys(text: string | null): string[] {
  return [
    ...new Set(
      (text ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    ),
  ];
}

/** Proxy keys as Keyway stores them; weak ones are kept (clients keep working) and flagged. */
export function planProxyKeys(values: readonly string[]): PlannedProxyKey[] {
  return values.map((value) => {
    const weak = isWeakSecret(value);
    return { hash: hashProxyKey(value), masked: maskSecret(value), ...(weak ? { weak: weak.reason } : {}) };
  });
}

// eslint-disable-next-line no-control-regex
const NOT_A_KEY = /[\s\u0000-\u001f\u007f]/;

/** Text without NUL, which PostgreSQL cannot store (a hand-edited GPT-Load row may hold one). */
function withoutNul(text: string): string {
  return text.replaceAll('\u0000', '');
}

/** A single-line field (display name, notes): line breaks and control characters become one space. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function upstreamsOf(g: GptLoadGroup, warn: (m: string) => void): Upstream[] {
  const out: Upstream[] = [];
  for (const [i, u] of g.upstreams.entries()) {
    // GPT-Load right-trims `/` from the upstream before appending the client path; so does storing it here.
    const url = String(u.url).trim().replace(/\/+$/, '');
    const problem = upstreamUrlProblem(url);
    if (problem) {
      warn(`upstreams.${i}: ${problem}; left out`);
      continue;
    }
    const weight = Math.min(1000, Math.max(0, Math.round(Number(u.weight) || 0)));
    out.push({ url, weight });
  }
  if (out.length > 0 && out.every((u) => u.weight === 0))
    warn('every upstream has weight 0 (disabled), as in GPT-Load: the group serves no request');
  return out;
}

function headerRulesOf(g: GptLoadGroup, warn: (m: string) => void): HeaderRule[] {
  const out: HeaderRule[] = [];
  const seen = new Set<string>();
  for (const [i, r] of (g.headerRules ?? []).entries()) {
    const parsed = headerRuleInputSchema.safeParse(
      r.action === 'remove'
        ? { action: 'remove', key: r.key }
        : { action: r.action, key: r.key, value: r.value },
    );
    if (!parsed.success) {
      warn(`header_rules.${i} (${String(r.key)}): ${parsed.error.issues[0]?.message ?? 'invalid'}; left out`);
      continue;
    }
    const lower = parsed.data.key.toLowerCase();
    if (seen.has(lower)) continue;
    seen.add(lower);
    out.push(parsed.data);
  }
  return out;
}

function redirectsOf(rules: JsonObject | null, warn: (m: string) => void): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [from, to] of Object.entries(rules ?? {})) {
    if (typeof to === 'string' && to.length > 0 && to.length <= 255 && from.length <= 255) out[from] = to;
    else warn(`model_redirect_rules.${from}: not a model name; left out`);
  }
  return out;
}

/** One GPT-Load group as a planned Keyway group, or null (with a warning) when it cannot be one. */
function planGroup(g: GptLoadGroup, warnings: string[]): PlannedGroup | null {
  const problems: string[] = [];
  const warn = (m: string): void => void problems.push(m);
  const done = (group: PlannedGroup | null): PlannedGroup | null => {
    if (problems.length > 0) warnings.push(...problems.map((p) => `group '${g.name}': ${p}`));
    return group;
  };
  if (!groupNameSchema.safeParse(g.name).success) {
    warn('its name is not a valid group name (^[a-z0-9_-]{1,100}$): not imported, nor its keys');
    return done(null);
  }
  const channel = channelSchema.safeParse(g.channelType);
  if (!channel.success) {
    warn(`channel type '${g.channelType}' has no Keyway channel: not imported, nor its keys`);
    return done(null);
  }
  const aggregate = g.groupType === 'aggregate';
  const mapped = aggregate ? { config: {}, problems: [] } : mapGroupConfig(g.config);
  problems.push(...mapped.problems);
  if (aggregate && (Object.keys(g.config ?? {}).length > 0 || Object.keys(g.paramOverrides ?? {}).length > 0))
    warn(
      "config and param_overrides of an aggregate are not used by GPT-Load (its sub-groups' are): left out",
    );
  const upstreams = aggregate ? [] : upstreamsOf(g, warn);
  if (!aggregate && upstreams.length === 0) {
    warn('no usable upstream: not imported, nor its keys');
    return done(null);
  }
  // GPT-Load ignores the validation endpoint of gemini groups (it always asks generateContent).
  let validationEndpoint = (g.validationEndpoint ?? '').trim();
  if (channel.data === 'gemini' && validationEndpoint !== '') {
    warn('validation_endpoint is ignored by GPT-Load for gemini groups: left unset (the channel default)');
    validationEndpoint = '';
  }
  if (validationEndpoint.length > 500) {
    warn('validation_endpoint is longer than 500 characters: left unset');
    validationEndpoint = '';
  }
  return done({
    sourceId: g.id,
    name: g.name,
    displayName: oneLine(g.displayName ?? '').slice(0, 255),
    description: withoutNul(g.description ?? '').slice(0, 2000),
    type: aggregate ? 'aggregate' : 'standard',
    channel: channel.data,
    upstreams,
    testModel: aggregate || g.testModel.trim() === '-' ? '' : g.testModel.trim().slice(0, 255),
    validationEndpoint: aggregate ? '' : validationEndpoint,
    proxyKeys: planProxyKeys(splitProxyKeys(g.proxyKeys)),
    paramOverrides: aggregate ? {} : { ...(g.paramOverrides ?? {}) },
    modelRedirects: aggregate ? {} : redirectsOf(g.modelRedirectRules, warn),
    modelRedirectStrict: !aggregate && g.modelRedirectStrict,
    headerRules: aggregate ? [] : headerRulesOf(g, warn),
    config: mapped.config,
    subGroups: [],
  });
}

/** GPT-Load's list order: `sort ASC, id DESC`. */
function listOrder(a: GptLoadGroup, b: GptLoadGroup): number {
  return a.sort - b.sort || b.id - a.id;
}

/** Links aggregates to their members; a member that is not an importable standard group of the same channel is dropped. */
function linkMembers(
  snapshot: GptLoadSnapshot,
  planned: Map<number, PlannedGroup>,
  warnings: string[],
): void {
  for (const link of snapshot.subGroups) {
    const parent = planned.get(link.groupId);
    if (!parent || parent.type !== 'aggregate') continue;
    const child = planned.get(link.subGroupId);
    const problem = !child
      ? `sub-group id ${link.subGroupId} is not imported`
      : child.type !== 'standard'
        ? `sub-group '${child.name}' is not a standard group`
        : child.channel !== parent.channel
          ? `sub-group '${child.name}' is a ${child.channel} group, not ${parent.channel}`
          : null;
    if (problem || !child) {
      warnings.push(`group '${parent.name}': ${problem ?? 'sub-group missing'}; link left out`);
      continue;
    }
    parent.subGroups.push({ sourceId: child.sourceId, weight: Math.min(1000, Math.max(0, link.weight)) });
  }
}

/** Keys of importable standard groups, de-duplicated per group; counts the rest. */
function planKeys(
  snapshot: GptLoadSnapshot,
  planned: Map<number, PlannedGroup>,
): { keys: PlannedKey[]; ignored: number; undecryptable: number } {
  const keys: PlannedKey[] = [];
  const seen = new Set<string>();
  let ignored = 0;
  let undecryptable = 0;
  for (const k of snapshot.keys) {
    if (k.keyValue === null) {
      undecryptable++;
      continue;
    }
    const group = planned.get(k.groupId);
    const value = k.keyValue.trim();
    const id = `${k.groupId}\u0000${value}`;
    // A value with a space, line break or control character inside is no key: sent as a header it would be
    // refused (or split a header line); GPT-Load's own import never stores one.
    if (!group || group.type !== 'standard' || value === '' || NOT_A_KEY.test(value) || seen.has(id)) {
      ignored++;
      continue;
    }
    seen.add(id);
    keys.push({
      sourceGroupId: k.groupId,
      value,
      status: k.status === 'invalid' ? 'invalid' : 'active',
      notes: oneLine(k.notes).slice(0, 255),
      requestCount: Math.max(0, Math.round(k.requestCount)),
      failureCount: Math.max(0, Math.round(k.failureCount)),
      lastUsedAt: k.lastUsedAt,
    });
  }
  return { keys, ignored, undecryptable };
}

function weakWarning(plan: Pick<ImportPlan, 'groups' | 'globalProxyKeys'>): string | null {
  const where: string[] = [];
  const global = plan.globalProxyKeys.filter((k) => k.weak).length;
  if (global > 0) where.push(`${global} global`);
  for (const g of plan.groups) {
    const n = g.proxyKeys.filter((k) => k.weak).length;
    if (n > 0) where.push(`${n} of group '${g.name}'`);
  }
  if (where.length === 0) return null;
  return (
    `security: weak proxy keys were imported so clients keep working (${where.join(', ')}); anyone who ` +
    'guesses one can use your upstream keys: replace them with random keys of 16+ characters'
  );
}

/** Maps a GPT-Load snapshot to the import plan. */
export function mapGptLoad(snapshot: GptLoadSnapshot): ImportPlan {
  const warnings = snapshot.issues.map((i) => `${i.table} #${i.id} ${i.field}: ${i.reason}`);
  const planned = new Map<number, PlannedGroup>();
  const ordered = [...snapshot.groups].sort(listOrder);
  for (const g of ordered) {
    const p = planGroup(g, warnings);
    if (p) planned.set(g.id, p);
  }
  linkMembers(snapshot, planned, warnings);
  const groups = [...planned.values()].sort((a, b) =>
    a.type === b.type ? 0 : a.type === 'standard' ? -1 : 1,
  );
  const { keys, ignored, undecryptable } = planKeys(snapshot, planned);
  if (undecryptable > 0)
    warnings.push(
      `${undecryptable} key(s) could not be decrypted (stored under another ENCRYPTION_KEY or damaged): not imported`,
    );
  const settings = mapSettings(snapshot.settings);
  const globalPlain = splitProxyKeys(settings.proxyKeys);
  const globalProxyKeys = planProxyKeys(globalPlain);
  const weak = weakWarning({ groups, globalProxyKeys });
  if (weak) warnings.push(weak);
  const proxyKeySecrets = [
    ...globalPlain,
    ...snapshot.groups.flatMap((g) => (planned.has(g.id) ? splitProxyKeys(g.proxyKeys) : [])),
  ];
  return {
    groups,
    keys,
    keysIgnored: ignored,
    undecryptable,
    globalProxyKeys,
    proxyKeySecrets,
    settings: { values: settings.values, applied: settings.applied, ignored: settings.ignored },
    warnings,
    counts: snapshot.counts,
  };
}
