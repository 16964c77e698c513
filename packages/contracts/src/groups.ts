import { z } from 'zod';
import { groupConfigInputSchema, groupConfigSchema, proxyUrlSchema } from './settings';
import { channelSchema } from './channels';
import { modelGlobSchema, noControl } from './common';
import { keyStatsSchema } from './keys';
import { affinitySchema, dailyResetTimeZoneSchema, keyLimitsSchema } from './pool';

/** NUL characters are refused in free text: PostgreSQL cannot store them. */
export const noNul = (v: string): boolean => !v.includes('\u0000');
export const NUL_MESSAGE = { message: 'must not contain NUL characters' };

export const groupTypeSchema = z.enum(['standard', 'aggregate']);
export type GroupType = z.infer<typeof groupTypeSchema>;

export const groupNameSchema = z
  .string()
  // GPT-Load's rule, so every group a GPT-Load import brings keeps its URL (`_team`, `-old` included).
  .regex(/^[a-z0-9_-]{1,100}$/, 'lower-case letters, digits, "_" and "-" (1 to 100)');

/** Why an upstream URL cannot be stored (checked on write; the egress policy in `core` judges its host). */
export const UPSTREAM_URL_MESSAGES = {
  characters: 'must not contain spaces, line breaks or control characters',
  scheme: 'must be an http:// or https:// URL',
  credentials: 'must not contain a user name or password: credentials belong in keys or header rules',
  query: 'must not contain a query or fragment',
} as const;

/** The first problem of an upstream URL's syntax, or null. */
export function upstreamUrlProblem(value: string): string | null {
  // WHATWG parsers drop tabs and line breaks inside a URL and trim spaces; refuse them instead of guessing.
  if (/\s/.test(value) || hasControl(value, -1)) return UPSTREAM_URL_MESSAGES.characters;
  if (!/^https?:\/\//i.test(value)) return UPSTREAM_URL_MESSAGES.scheme;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return UPSTREAM_URL_MESSAGES.scheme;
  }
  if (url.hostname === '') return UPSTREAM_URL_MESSAGES.scheme;
  // Userinfo is refused even when empty (`http://@host`): it would be shown in clear wherever the URL is.
  if (url.username !== '' || url.password !== '' || /^https?:\/\/[^/]*@/i.test(value))
    return UPSTREAM_URL_MESSAGES.credentials;
  if (/[?#]/.test(value)) return UPSTREAM_URL_MESSAGES.query;
  return null;
}

export const upstreamUrlSchema = z
  .string()
  .max(500)
  .superRefine((v, ctx) => {
    const problem = upstreamUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const upstreamSchema = z.strictObject({
  url: upstreamUrlSchema,
  weight: z.number().int().min(0).max(1000).default(1),
});
export type Upstream = z.infer<typeof upstreamSchema>;

const headerNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name');

/** A header rule as stored and sent to the gateways (older rows may break the write rules below). */
export const headerRuleSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('set'), key: headerNameSchema, value: z.string().max(4000) }),
  z.strictObject({
    action: z.literal('remove'),
    key: headerNameSchema,
    value: z.string().max(4000).optional(),
  }),
]);

/**
 * Headers the gateway owns: message framing, hop-by-hop and proxy headers (RFC 9110 §7.6.1, the list nginx and
 * Go's net/http strip), plus `expect` which undici refuses. Setting one breaks every request before it leaves;
 * removing `host` or `content-length` breaks framing too, so rules may do neither.
 */
export const RESERVED_RULE_HEADERS: readonly string[] = [
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'expect',
  'http2-settings',
];

/** Why a header rule may not name `name`, or null. */
export function reservedHeaderProblem(name: string): string | null {
  const lower = name.trim().toLowerCase();
  if (!RESERVED_RULE_HEADERS.includes(lower) && !lower.startsWith('proxy-')) return null;
  return `${lower} is a framing or hop-by-hop header the gateway manages; a rule cannot set or remove it`;
}

/** Why a header value cannot be sent, or null: one line of Latin-1 without control characters (tab allowed). */
export function headerValueProblem(value: string): string | null {
  if (/[\r\n]/.test(value)) return 'must not contain line breaks (CR or LF)';
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if ([...value].some((ch) => (ch.codePointAt(0) ?? 0) > 0xff))
    return 'must be Latin-1: no characters above U+00FF';
  if (hasControl(value, 0x09)) return 'must not contain control characters';
  return null;
}

/** Whether `value` has a C0 control character (other than `allowed`) or DEL. */
function hasControl(value: string, allowed: number): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== allowed && (c < 0x20 || c === 0x7f)) return true;
  }
  return false;
}

const ruleHeaderNameSchema = headerNameSchema.superRefine((name, ctx) => {
  const problem = reservedHeaderProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const ruleHeaderValueSchema = z
  .string()
  .max(4000)
  .superRefine((value, ctx) => {
    const problem = headerValueProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A header rule in a create or update body: the value must be sendable and the header not the gateway's own. */
export const headerRuleInputSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('set'), key: ruleHeaderNameSchema, value: ruleHeaderValueSchema }),
  z.strictObject({
    action: z.literal('remove'),
    key: ruleHeaderNameSchema,
    value: z.string().max(4000).optional(),
  }),
]);
export type HeaderRule = z.infer<typeof headerRuleSchema>;

export const subGroupRefSchema = z
  .strictObject({
    groupId: z.number().int().positive(),
    weight: z.number().int().min(0).max(1000).default(1),
    /** The tier (1 = first): traffic reaches a higher number only when every better tier is exhausted. */
    priority: z.number().int().min(1).max(100).default(1),
    // A GET shows the sub-group's name; accepted (and ignored) so a client can send back what it read.
    name: z.string().max(255).optional(),
  })
  .transform(({ groupId, weight, priority }) => ({ groupId, weight, priority }));
export type SubGroupRef = z.infer<typeof subGroupRefSchema>;

const modelNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine(noControl, { message: 'must not contain control characters' });

/**
 * `{"smart": ["gpt-4.1", "gpt-4o"]}`: a request naming the alias is tried as each model in turn (fail-over on
 * exhaustion or a retryable failure). An alias listing itself, or a model twice, is refused.
 */
export const modelAliasesSchema = z
  .record(modelNameSchema, z.array(modelNameSchema).min(1).max(20))
  .superRefine((aliases, ctx) => {
    const entries = Object.entries(aliases);
    if (entries.length > 100) ctx.addIssue({ code: 'custom', path: [], message: 'at most 100 aliases' });
    for (const [alias, models] of entries) {
      for (const [i, m] of models.entries()) {
        if (m === alias)
          ctx.addIssue({ code: 'custom', path: [alias, i], message: 'an alias may not name itself' });
        else if (models.indexOf(m) !== i)
          ctx.addIssue({ code: 'custom', path: [alias, i], message: 'lists a model twice' });
      }
    }
  });
export type ModelAliases = z.infer<typeof modelAliasesSchema>;

/**
 * The proxy of `pool` a key leaves through: rendezvous (highest random weight) hashing of the key id over the pool,
 * so each key keeps its proxy while the pool is unchanged and removing one proxy moves only that proxy's keys. A
 * penalised proxy is skipped for the key's next-best one; when every proxy is penalised, the key's own is used.
 * Shared by the gateway (which connects through it) and the admin API (which shows it).
 */
export function proxyForKey(
  pool: readonly string[],
  keyId: number,
  isPenalized: (url: string) => boolean = () => false,
): string | null {
  let best: string | null = null;
  let bestScore = -1;
  let healthy: string | null = null;
  let healthyScore = -1;
  for (const url of pool) {
    const score = rendezvousScore(`${keyId}\u0000${url}`);
    if (score > bestScore) [best, bestScore] = [url, score];
    if (score > healthyScore && !isPenalized(url)) [healthy, healthyScore] = [url, score];
  }
  return healthy ?? best;
}

/** cyrb53: a fast, well-mixed 53-bit string hash (no crypto needed here, and this file runs in browsers too). */
function rendezvousScore(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const proxyKeyListSchema = z.array(z.string().trim().min(1).max(512)).max(1000);

/**
 * Egress proxies of a group: each upstream key always leaves through the same one (consistent hashing). Shown
 * masked; an entry sent back masked (`socks5://…@proxy:1080`) keeps the stored proxy it names.
 */
export const proxyPoolSchema = z
  .array(proxyUrlSchema)
  .max(100)
  .refine((pool) => new Set(pool).size === pool.length, { message: 'lists a proxy twice' });

/** Caller dialects a group can be opted in to accept besides its own channel's (API.md "Format translation"). */
export const translateDialectSchema = z.enum(['openai', 'anthropic']);
export type TranslateDialect = z.infer<typeof translateDialectSchema>;

/** `translate`: the dialects this group also accepts, converted to and from its channel's format. */
export const translateSchema = z.strictObject({
  from: z
    .array(translateDialectSchema)
    .max(2)
    .refine((l) => new Set(l).size === l.length, { message: 'lists a dialect twice' }),
});
export type Translate = z.infer<typeof translateSchema>;

/** Which caller dialects a channel's groups may translate from (none for the Responses API). */
export const TRANSLATABLE_FROM: Readonly<Record<string, readonly TranslateDialect[]>> = {
  openai: ['anthropic'],
  anthropic: ['openai'],
  gemini: ['openai', 'anthropic'],
};

/** Fields a GET returns that a client may send back; accepted and ignored. */
const readOnlyGroupFields = {
  id: z.unknown().optional(),
  endpoint: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
  keyStats: z.unknown().optional(),
  sort: z.unknown().optional(),
};

const groupFields = {
  name: groupNameSchema,
  displayName: z.string().trim().max(255).refine(noNul, NUL_MESSAGE).default(''),
  description: z.string().max(2000).refine(noNul, NUL_MESSAGE).default(''),
  type: groupTypeSchema.default('standard'),
  channel: channelSchema,
  upstreams: z.array(upstreamSchema).max(100).default([]),
  testModel: z.string().trim().max(255).default(''),
  validationEndpoint: z.string().trim().max(500).default(''),
  proxyKeys: proxyKeyListSchema.default([]),
  proxyPool: proxyPoolSchema.default([]),
  paramOverrides: z.record(z.string().min(1).max(200), z.unknown()).default({}),
  modelRedirects: z.record(z.string().min(1).max(255), z.string().min(1).max(255)).default({}),
  modelRedirectStrict: z.boolean().default(false),
  modelAliases: modelAliasesSchema.default({}),
  /** Model globs the key-routed endpoints (`/v1/…`) match this group on; [] = any model. */
  models: z.array(modelGlobSchema).max(200).default([]),
  headerRules: z.array(headerRuleInputSchema).max(100).default([]),
  /** Pacing limits per upstream key (null = none). */
  keyLimits: keyLimitsSchema.nullable().default(null),
  affinity: affinitySchema.default({ mode: 'off', header: 'x-session-id', ttlSeconds: 3600 }),
  /** IANA zone daily key limits reset in; null = the channel's default. */
  dailyResetTimeZone: dailyResetTimeZoneSchema.default(null),
  translate: translateSchema.default({ from: [] }),
  config: groupConfigInputSchema.default({}),
  subGroups: z.array(subGroupRefSchema).max(100).default([]),
};

function checkGroup(
  g: {
    type?: string;
    channel?: string;
    upstreams?: unknown[];
    subGroups?: unknown[];
    headerRules?: HeaderRule[];
    translate?: Translate;
  },
  ctx: z.RefinementCtx,
  partial: boolean,
) {
  // With a PATCH that omits the channel, the control plane re-checks against the stored one.
  if (g.translate && g.channel) {
    const allowed = TRANSLATABLE_FROM[g.channel] ?? [];
    for (const [i, d] of g.translate.from.entries())
      if (!allowed.includes(d))
        ctx.addIssue({
          code: 'custom',
          path: ['translate', 'from', i],
          message: allowed.length
            ? `the ${g.channel} channel translates only from ${allowed.join(', ')}`
            : `the ${g.channel} channel does not translate`,
        });
  }
  if (g.headerRules) {
    const seen = new Set<string>();
    for (const [i, r] of g.headerRules.entries()) {
      const k = r.key.toLowerCase();
      if (seen.has(k))
        ctx.addIssue({ code: 'custom', path: ['headerRules', i, 'key'], message: 'duplicate header' });
      seen.add(k);
    }
  }
  if (partial) return;
  if (g.type === 'aggregate') {
    if (g.upstreams && g.upstreams.length > 0)
      ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'an aggregate group has no upstreams' });
  } else {
    if (!g.upstreams || g.upstreams.length === 0)
      ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'at least one upstream is required' });
    if (g.subGroups && g.subGroups.length > 0)
      ctx.addIssue({ code: 'custom', path: ['subGroups'], message: 'only aggregate groups have sub-groups' });
  }
}

/** `POST /api/groups` body. */
export const groupCreateSchema = z
  .strictObject({ ...groupFields, ...readOnlyGroupFields })
  .superRefine((g, ctx) => checkGroup(g, ctx, false))
  .transform(stripReadOnly);
export type GroupCreate = z.infer<typeof groupCreateSchema>;

const patchFields = Object.fromEntries(
  Object.entries(groupFields).map(([k, s]) => [k, (s as z.ZodType).optional()]),
) as { [K in keyof typeof groupFields]: z.ZodOptional<z.ZodType<z.output<(typeof groupFields)[K]>>> };

/** `PATCH /api/groups/{id}` body: any subset of the create fields. */
export const groupPatchSchema = z
  .strictObject({
    ...patchFields,
    // For a PATCH an omitted field means "keep", so no defaults are filled in.
    displayName: z.string().trim().max(255).refine(noNul, NUL_MESSAGE).optional(),
    description: z.string().max(2000).refine(noNul, NUL_MESSAGE).optional(),
    type: groupTypeSchema.optional(),
    upstreams: z.array(upstreamSchema).max(100).optional(),
    testModel: z.string().trim().max(255).optional(),
    validationEndpoint: z.string().trim().max(500).optional(),
    proxyKeys: proxyKeyListSchema.optional(),
    proxyPool: proxyPoolSchema.optional(),
    paramOverrides: z.record(z.string().min(1).max(200), z.unknown()).optional(),
    modelRedirects: z.record(z.string().min(1).max(255), z.string().min(1).max(255)).optional(),
    modelRedirectStrict: z.boolean().optional(),
    modelAliases: modelAliasesSchema.optional(),
    models: z.array(modelGlobSchema).max(200).optional(),
    headerRules: z.array(headerRuleInputSchema).max(100).optional(),
    keyLimits: keyLimitsSchema.nullable().optional(),
    affinity: affinitySchema.optional(),
    dailyResetTimeZone: dailyResetTimeZoneSchema.optional(),
    translate: translateSchema.optional(),
    config: groupConfigInputSchema.optional(),
    subGroups: z.array(subGroupRefSchema).max(100).optional(),
    ...readOnlyGroupFields,
  })
  .superRefine((g, ctx) => checkGroup(g, ctx, true))
  .transform(stripReadOnly);
export type GroupPatch = z.infer<typeof groupPatchSchema>;

function stripReadOnly<T extends Record<string, unknown>>(g: T): Omit<T, keyof typeof readOnlyGroupFields> {
  const out: Record<string, unknown> = { ...g };
  for (const k of Object.keys(readOnlyGroupFields)) delete out[k];
  return out as Omit<T, keyof typeof readOnlyGroupFields>;
}

/** A group as the admin API returns it. */
export const groupSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  displayName: z.string(),
  description: z.string(),
  type: groupTypeSchema,
  channel: channelSchema,
  upstreams: z.array(z.object({ url: z.string(), weight: z.number().int() })),
  testModel: z.string(),
  validationEndpoint: z.string(),
  proxyKeys: z.array(z.string()),
  /** Masked proxy URLs. */
  proxyPool: z.array(z.string()),
  paramOverrides: z.record(z.string(), z.unknown()),
  modelRedirects: z.record(z.string(), z.string()),
  modelRedirectStrict: z.boolean(),
  modelAliases: z.record(z.string(), z.array(z.string())),
  models: z.array(z.string()),
  headerRules: z.array(headerRuleSchema),
  keyLimits: keyLimitsSchema.nullable(),
  affinity: affinitySchema,
  dailyResetTimeZone: z.string().nullable(),
  translate: translateSchema,
  config: groupConfigSchema,
  subGroups: z.array(
    z.object({
      groupId: z.number().int(),
      weight: z.number().int(),
      priority: z.number().int(),
      name: z.string().optional(),
    }),
  ),
  sort: z.number().int(),
  endpoint: z.string(),
  keyStats: keyStatsSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Group = z.infer<typeof groupSchema>;
