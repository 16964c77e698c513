// The import plan: what a GPT-Load database becomes in Keyway, computed without touching either database
// (`mapGptLoad`), then written by `applyImportPlan`. A dry run prints it (`describePlan`): it holds upstream keys
// in clear for the writer, so only `describePlan` and the result ever leave the process.
import type { Channel, GroupConfig, HeaderRule, Upstream } from '@keyway/contracts';
import type { IgnoredSetting, MappedSettings } from './map-settings';

/** A proxy key as Keyway stores it: only a hash and a masked form, `weak` when a guessable one was imported. */
export interface PlannedProxyKey {
  hash: string;
  masked: string;
  weak?: string;
}

/** A Keyway group to create (or, when its name is taken, to merge keys and proxy keys into). */
export interface PlannedGroup {
  /** The GPT-Load group id: keys, sub-groups, logs and stats refer to it. */
  sourceId: number;
  name: string;
  displayName: string;
  description: string;
  type: 'standard' | 'aggregate';
  channel: Channel;
  upstreams: Upstream[];
  testModel: string;
  validationEndpoint: string;
  proxyKeys: PlannedProxyKey[];
  paramOverrides: Record<string, unknown>;
  modelRedirects: Record<string, string>;
  modelRedirectStrict: boolean;
  headerRules: HeaderRule[];
  config: GroupConfig;
  /** Aggregates: members by GPT-Load group id. */
  subGroups: Array<{ sourceId: number; weight: number }>;
}

/** An upstream key to store. */
export interface PlannedKey {
  sourceGroupId: number;
  /** Plaintext: sealed with Keyway's cipher when written. */
  value: string;
  status: 'active' | 'invalid';
  notes: string;
  requestCount: number;
  failureCount: number;
  lastUsedAt: Date | null;
}

/** Everything an import writes. */
export interface ImportPlan {
  /** Standard groups first (aggregates refer to them), each part in GPT-Load's list order. */
  groups: PlannedGroup[];
  keys: PlannedKey[];
  /** Keys that are not imported: no importable group, or listed twice in one group. */
  keysIgnored: number;
  undecryptable: number;
  globalProxyKeys: PlannedProxyKey[];
  /** Plaintext of every proxy key, for a secret registry that masks them should they ever be echoed. */
  proxyKeySecrets: string[];
  settings: { values: MappedSettings; applied: string[]; ignored: IgnoredSetting[] };
  /** What could not be mapped and why, and security notes (weak proxy keys). Never a secret. */
  warnings: string[];
  /** Whether the source has request logs and hourly stats (imported with `logs`). */
  counts: { requestLogs: number; hourlyStats: number };
}

/** The contract's import result (API.md "GPT-Load import"). */
export interface ImportResult {
  groups: { created: number; skipped: number };
  keys: { added: number; ignored: number; undecryptable: number };
  proxyKeys: { imported: number; weak: number };
  settings: { applied: string[]; ignored: IgnoredSetting[] };
  warnings: string[];
}

/** The plan as readable lines, with no secret in them (what `--dry-run` prints). */
export function describePlan(plan: ImportPlan): string[] {
  const keysOf = new Map<number, number>();
  for (const k of plan.keys) keysOf.set(k.sourceGroupId, (keysOf.get(k.sourceGroupId) ?? 0) + 1);
  const byId = new Map(plan.groups.map((g) => [g.sourceId, g.name]));
  const lines = [`${plan.groups.length} group(s):`];
  for (const g of plan.groups) {
    const what =
      g.type === 'aggregate'
        ? `aggregate of ${g.subGroups.map((s) => `${byId.get(s.sourceId) ?? s.sourceId}×${s.weight}`).join(', ') || 'nothing'}`
        : `${g.upstreams.length} upstream(s), ${keysOf.get(g.sourceId) ?? 0} key(s)`;
    lines.push(`  ${g.name} (${g.channel}): ${what}, ${g.proxyKeys.length} proxy key(s)`);
  }
  lines.push(
    `${plan.keys.length} key(s) to import, ${plan.keysIgnored} ignored, ${plan.undecryptable} undecryptable`,
    `${plan.globalProxyKeys.length} global proxy key(s)`,
    `settings applied: ${plan.settings.applied.join(', ') || 'none'}`,
    ...plan.settings.ignored.map((s) => `setting ignored: ${s.key}: ${s.reason}`),
    ...plan.warnings.map((w) => `warning: ${w}`),
  );
  return lines;
}
