import { z } from 'zod';
import { accessKeySnapshotSchema } from './access-keys';
import { channelSchema } from './channels';
import { groupTypeSchema, headerRuleSchema } from './groups';
import { affinitySchema, defaultAffinity, keyLimitsSchema } from './pool';
import { defaultSettings, groupConfigSchema, settingsSchema } from './settings';

/** A group as the data plane needs it: no secrets but proxy-key hashes and the egress proxies it connects through. */
export const groupSnapshotSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  type: groupTypeSchema,
  channel: channelSchema,
  upstreams: z.array(z.object({ url: z.string(), weight: z.number().int() })),
  testModel: z.string(),
  validationEndpoint: z.string(),
  proxyKeyHashes: z.array(z.string()),
  paramOverrides: z.record(z.string(), z.unknown()),
  modelRedirects: z.record(z.string(), z.string()),
  modelRedirectStrict: z.boolean(),
  headerRules: z.array(headerRuleSchema),
  // Stripped, not strict: a replica of another version may know settings this one does not (rolling upgrades).
  config: z.object(groupConfigSchema.shape),
  /** `priority`: the tier (1 first; absent = 1, as older control planes send it). */
  subGroups: z.array(
    z.object({ groupId: z.number().int(), weight: z.number().int(), priority: z.number().int().optional() }),
  ),
  /** Alias → the models it is tried as, in order; absent = none (older control planes send none). */
  modelAliases: z.record(z.string(), z.array(z.string())).optional(),
  /** Model globs the key-routed endpoints match this group on; [] = any model. */
  models: z.array(z.string()).default([]),
  /** Pacing limits per upstream key; null = none (older control planes send nothing). */
  keyLimits: keyLimitsSchema.nullable().default(null),
  affinity: affinitySchema.default(defaultAffinity),
  /** The zone daily key limits reset in, resolved (the channel's default filled in). */
  dailyResetTimeZone: z.string().default('UTC'),
  /** Egress proxies (full URLs: the gateway connects through them); absent or [] = `proxyUrl`, or direct. */
  proxyPool: z.array(z.string()).optional(),
  /**
   * Caller dialects the group also accepts (format translation); absent = none. Plain strings: a dialect a newer
   * control plane knows and this gateway does not is ignored rather than failing the snapshot.
   */
  translate: z.array(z.string()).optional(),
});
export type GroupSnapshot = z.infer<typeof groupSnapshotSchema>;

/**
 * Everything a gateway needs to route, built by the control plane from the database. In distributed mode this
 * is the `kw:config` document in Redis; in standalone mode it is handed over in process.
 */
const { proxyKeys: _secret, ...snapshotDefaults } = defaultSettings;

/**
 * The snapshot's settings across versions: a setting this build does not know (written by a newer control plane,
 * or retired) is dropped, and one it knows but the writer did not (an older control plane) takes
 * its default — so a gateway of another version than the control plane still loads the snapshot.
 */
const snapshotSettingsSchema = z.preprocess(
  (value) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? { ...snapshotDefaults, ...value }
      : value,
  z.object(settingsSchema.omit({ proxyKeys: true }).shape),
);

export const configSnapshotSchema = z.object({
  version: z.number().int(),
  settings: snapshotSettingsSchema,
  proxyKeyHashes: z.array(z.string()),
  groups: z.array(groupSnapshotSchema),
  /** Defaults (older control planes send none). */
  accessKeys: z.array(accessKeySnapshotSchema).default([]),
  /** The effective price table (defaults merged with the operator's entries). */
  prices: z
    .array(
      z.object({
        model: z.string(),
        inputPerMTok: z.number(),
        outputPerMTok: z.number(),
        cachedInputPerMTok: z.number().nullable(),
      }),
    )
    .default([]),
});
export type ConfigSnapshot = z.infer<typeof configSnapshotSchema>;
