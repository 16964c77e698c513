import { z } from 'zod';
import { parseStatusCodeSpec } from './status-codes';

/** Where a setting is shown in the console. */
export const settingCategorySchema = z.enum(['basic', 'request', 'keys', 'logs']);
export type SettingCategory = z.infer<typeof settingCategorySchema>;

const int = (min: number, max = 1_000_000) => z.number().int().min(min).max(max);

const failoverSpecSchema = z
  .string()
  .max(2000)
  .refine((spec) => parseStatusCodeSpec(spec).ok, {
    message: 'must be status codes or ranges like "400-403,405-999"',
  });

interface SettingDef<S extends z.ZodType, G extends boolean = boolean> {
  schema: S;
  default: z.infer<S>;
  type: 'integer' | 'boolean' | 'string' | 'string[]' | 'enum';
  min?: number;
  max?: number;
  options?: readonly string[];
  category: SettingCategory;
  groupOverridable: G;
  secret?: boolean;
  description: string;
}

// `const G` keeps `groupOverridable` a literal type, so GroupOverridableKey lists the right keys.
const def = <S extends z.ZodType, const G extends boolean>(d: SettingDef<S, G>): SettingDef<S, G> => d;

/** Why a proxy URL cannot be stored (checked on write; the egress policy in `core` judges its host). */
export const PROXY_URL_MESSAGES = {
  characters: 'must not contain spaces, line breaks or control characters',
  scheme: 'must be an http://, https://, socks5:// or socks5h:// URL with a host',
  path: 'must be only scheme, credentials, host and port: no path, query or fragment',
  masked: 'is masked (…) but matches no stored proxy URL: send the full URL',
} as const;

/** The first problem of an egress proxy URL, or null. Credentials are allowed: proxies are where they belong. */
export function proxyUrlProblem(value: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return PROXY_URL_MESSAGES.characters;
  if (!/^(https?|socks5h?):\/\//i.test(value)) return PROXY_URL_MESSAGES.scheme;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return PROXY_URL_MESSAGES.scheme;
  }
  if (url.hostname === '') return PROXY_URL_MESSAGES.scheme;
  if (/[?#]/.test(value) || url.pathname.replace(/^\/$/, '') !== '') return PROXY_URL_MESSAGES.path;
  if (/^[a-z0-9]+:\/\/[^/]*\u2026[^/]*@/i.test(value) || url.username.includes('%E2%80%A6'))
    return PROXY_URL_MESSAGES.masked;
  return null;
}

/**
 * An egress proxy URL as written (`http://user:pass@proxy:3128`, `socks5h://proxy:1080`), or its masked form sent
 * back unchanged (`http://…@proxy:3128`), which the writer replaces by the stored URL it stands for.
 */
export const proxyUrlSchema = z
  .string()
  .max(500)
  .superRefine((v, ctx) => {
    const problem = proxyUrlProblem(v);
    if (problem && problem !== PROXY_URL_MESSAGES.masked) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Whether `value` is the masked form of a proxy URL (credentials replaced by `…`). */
export function isMaskedProxyUrl(value: string): boolean {
  return proxyUrlProblem(value) === PROXY_URL_MESSAGES.masked;
}

/**
 * A proxy URL as the API, the console and the logs show it: the credentials (write-only) replaced by `…`, so
 * `http://user:pass@proxy:3128` reads `http://…@proxy:3128`. A URL without credentials is shown as is.
 */
export function maskProxyUrl(value: string): string {
  const at = value.lastIndexOf('@');
  const scheme = value.indexOf('://');
  if (at === -1 || scheme === -1 || at < scheme) return value;
  return `${value.slice(0, scheme + 3)}…${value.slice(at)}`;
}

/** Every hot-reloadable setting: its schema, default, category and whether a group may override it. */
export const settingDefinitions = {
  proxyKeys: def({
    schema: z.array(z.string().trim().min(1).max(512)).max(1000),
    default: [] as string[],
    type: 'string[]',
    category: 'basic',
    groupOverridable: false,
    secret: true,
    description: 'Global proxy keys accepted by every group (write-only; shown masked).',
  }),
  appUrl: def({
    schema: z
      .url({ protocol: /^https?$/ })
      .max(500)
      .refine((u) => !/[?#]/.test(u), { message: 'must not contain a query or fragment' }),
    default: 'http://localhost:3001',
    type: 'string',
    category: 'basic',
    groupOverridable: false,
    description: 'Public base URL used to show each group endpoint ({appUrl}/proxy/{name}).',
  }),
  requestLogging: def({
    schema: z.enum(['all', 'errors', 'off']),
    default: 'all',
    type: 'enum',
    options: ['all', 'errors', 'off'],
    category: 'logs',
    groupOverridable: false,
    description: 'Which proxied requests are logged: all, only failed ones, or none.',
  }),
  requestLogRetentionDays: def({
    schema: int(0, 3650),
    default: 7,
    type: 'integer',
    min: 0,
    max: 3650,
    category: 'logs',
    groupOverridable: false,
    description: 'Delete request logs older than this many days (0 keeps them forever).',
  }),
  statsRetentionDays: def({
    schema: int(0, 36_500),
    default: 400,
    type: 'integer',
    min: 0,
    max: 36_500,
    category: 'logs',
    groupOverridable: false,
    description: 'Delete hourly usage statistics older than this many days (0 keeps them forever).',
  }),
  requestLogBodies: def({
    schema: z.boolean(),
    default: false,
    type: 'boolean',
    category: 'logs',
    groupOverridable: true,
    description: 'Store request bodies (truncated) in request logs.',
  }),
  requestTimeoutSeconds: def({
    schema: int(1, 86_400),
    default: 600,
    type: 'integer',
    min: 1,
    max: 86_400,
    category: 'request',
    groupOverridable: true,
    description: 'Overall deadline for a non-streaming upstream call.',
  }),
  connectTimeoutSeconds: def({
    schema: int(1, 600),
    default: 15,
    type: 'integer',
    min: 1,
    max: 600,
    category: 'request',
    groupOverridable: true,
    description: 'TCP/TLS connect timeout towards an upstream.',
  }),
  responseHeaderTimeoutSeconds: def({
    schema: int(1, 86_400),
    default: 600,
    type: 'integer',
    min: 1,
    max: 86_400,
    category: 'request',
    groupOverridable: true,
    description: 'How long to wait for the upstream response headers (first byte).',
  }),
  streamIdleTimeoutSeconds: def({
    schema: int(1, 86_400),
    default: 120,
    type: 'integer',
    min: 1,
    max: 86_400,
    category: 'request',
    groupOverridable: true,
    description: 'Longest silence allowed between two chunks of a streamed response.',
  }),
  idleConnTimeoutSeconds: def({
    schema: int(1, 3600),
    default: 120,
    type: 'integer',
    min: 1,
    max: 3600,
    category: 'request',
    groupOverridable: true,
    description: 'How long an idle keep-alive connection to an upstream is kept.',
  }),
  maxConnsPerUpstream: def({
    schema: int(1, 10_000),
    default: 100,
    type: 'integer',
    min: 1,
    max: 10_000,
    category: 'request',
    groupOverridable: true,
    description: 'Maximum open connections per upstream origin in each gateway process.',
  }),
  maxConcurrentRequests: def({
    schema: int(1, 1_000_000),
    default: 1000,
    type: 'integer',
    min: 1,
    max: 1_000_000,
    category: 'request',
    groupOverridable: false,
    description: 'Proxy requests served at once per gateway process; beyond it 429 with Retry-After.',
  }),
  maxRequestBodyMb: def({
    schema: int(1, 1024),
    default: 32,
    type: 'integer',
    min: 1,
    max: 1024,
    category: 'request',
    groupOverridable: true,
    description: 'Largest proxied request body in MiB; larger ones get 413.',
  }),
  egressBlockPrivate: def({
    schema: z.boolean(),
    default: false,
    type: 'boolean',
    category: 'request',
    groupOverridable: false,
    description:
      'Also refuse upstreams on loopback and private networks (127/8, 10/8, 172.16/12, 192.168/16, 100.64/10, ::1, fc00::/7), checked on the URL when it is saved and on every address a name resolves to when connecting. Link-local and cloud metadata addresses are always refused.',
  }),
  proxyUrl: def({
    // "" is what a console sends for "none": unset.
    schema: z.preprocess(
      (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
      proxyUrlSchema.nullable(),
    ),
    default: null as string | null,
    type: 'string',
    category: 'request',
    groupOverridable: true,
    secret: true,
    description:
      'Egress proxy for upstream requests: http://, https://, socks5:// (names resolved here) or socks5h:// (resolved by the proxy), credentials allowed (write-only; shown masked). Unset = direct. A group proxyPool takes precedence.',
  }),
  maxRetries: def({
    schema: int(0, 50),
    default: 3,
    type: 'integer',
    min: 0,
    max: 50,
    category: 'keys',
    groupOverridable: true,
    description: 'Extra attempts on other keys after a retryable failure.',
  }),
  blacklistThreshold: def({
    schema: int(0, 1000),
    default: 3,
    type: 'integer',
    min: 0,
    max: 1000,
    category: 'keys',
    groupOverridable: true,
    description: 'Consecutive upstream failures before a key is blacklisted (0 = never).',
  }),
  failoverStatusCodes: def({
    // "" would mean "never fail over", silently disabling retries and key health: treat it as unset.
    schema: z.preprocess(
      (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
      failoverSpecSchema.nullable(),
    ),
    default: null as string | null,
    type: 'string',
    category: 'keys',
    groupOverridable: true,
    description:
      'Unset: the classifier decides which failures fail over. Set (e.g. "400-403,405-999") to force the statuses that fail over, as GPT-Load does.',
  }),
  rateLimitCooldownSeconds: def({
    schema: int(1, 86_400),
    default: 5,
    type: 'integer',
    min: 1,
    max: 86_400,
    category: 'keys',
    groupOverridable: true,
    description:
      'First cooldown of a rate-limited key; doubles on each repeat (capped) unless Retry-After says otherwise.',
  }),
  rateLimitMaxCooldownSeconds: def({
    schema: int(1, 86_400),
    default: 300,
    type: 'integer',
    min: 1,
    max: 86_400,
    category: 'keys',
    groupOverridable: true,
    description: 'Cap of the exponential rate-limit cooldown.',
  }),
  quotaCooldownMinutes: def({
    schema: int(1, 44_640),
    default: 60,
    type: 'integer',
    min: 1,
    max: 44_640,
    category: 'keys',
    groupOverridable: true,
    description: 'Cooldown of a key whose quota is exhausted when the provider states no reset time.',
  }),
  firstTokenTimeoutSeconds: def({
    schema: int(1, 3600).nullable(),
    default: null as number | null,
    type: 'integer',
    min: 1,
    max: 3600,
    category: 'request',
    groupOverridable: true,
    description:
      'Streams: seconds to wait for the first content event before abandoning the attempt and retrying on another key (unset = off). While set, the response head and any events before the first content event are held until then.',
  }),
  retryOnEmpty: def({
    schema: z.boolean(),
    default: false,
    type: 'boolean',
    category: 'keys',
    groupOverridable: true,
    description:
      'Retry on another key when a successful reply carries no content (no choices, candidates or content blocks; a Gemini candidate blocked empty). Streams hold the response head until the first content event.',
  }),
  keyRecheckIntervalMinutes: def({
    schema: int(1, 10_080),
    default: 60,
    type: 'integer',
    min: 1,
    max: 10_080,
    category: 'keys',
    groupOverridable: true,
    description: 'How often invalid keys are re-validated and restored when they pass.',
  }),
  keyValidationConcurrency: def({
    schema: int(1, 100),
    default: 10,
    type: 'integer',
    min: 1,
    max: 100,
    category: 'keys',
    groupOverridable: true,
    description: 'Parallel validation requests per group.',
  }),
  keyValidationTimeoutSeconds: def({
    schema: int(1, 600),
    default: 20,
    type: 'integer',
    min: 1,
    max: 600,
    category: 'keys',
    groupOverridable: true,
    description: 'Timeout of one validation request.',
  }),
  alertDedupMinutes: def({
    schema: int(1, 1440),
    default: 10,
    type: 'integer',
    min: 1,
    max: 1440,
    category: 'basic',
    groupOverridable: false,
    description:
      'An alert for the same event and subject is sent at most once in this many minutes; the next one says how many were suppressed.',
  }),
} as const;

export type SettingKey = keyof typeof settingDefinitions;
type Defs = typeof settingDefinitions;
export type Settings = { [K in SettingKey]: z.infer<Defs[K]['schema']> };

const shape = Object.fromEntries(Object.entries(settingDefinitions).map(([k, d]) => [k, d.schema])) as {
  [K in SettingKey]: Defs[K]['schema'];
};

/** Full settings object (every key present). */
export const settingsSchema = z.strictObject(shape);

/**
 * Settings that were offered once but never had an effect. An older console sends them back empty: that is
 * accepted and dropped; any other value is refused with why. (None at the moment: `proxyUrl` works now.)
 */
export const RETIRED_SETTINGS: Readonly<Record<never, string>> = {} as const;
export type RetiredSettingKey = keyof typeof RETIRED_SETTINGS;

const retiredFields = Object.fromEntries(
  Object.entries(RETIRED_SETTINGS as Record<string, string>).map(([k, message]) => [
    k,
    z
      .unknown()
      .refine((v) => v === undefined || v === null || v === '', { message })
      .optional(),
  ]),
) as { [K in RetiredSettingKey]: z.ZodOptional<z.ZodUnknown> };

function dropRetired<T extends Record<string, unknown>>(value: T): Omit<T, RetiredSettingKey> {
  const out: Record<string, unknown> = { ...value };
  for (const k of Object.keys(RETIRED_SETTINGS)) delete out[k];
  return out as Omit<T, RetiredSettingKey>;
}

/** A PATCH body: any subset of the settings; unknown keys are rejected. */
export const settingsPatchSchema = settingsSchema.partial().extend(retiredFields).transform(dropRetired);
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

/** Built-in defaults of every setting. */
export const defaultSettings: Settings = Object.fromEntries(
  Object.entries(settingDefinitions).map(([k, d]) => [k, d.default]),
) as Settings;

export const groupOverridableKeys = (Object.keys(settingDefinitions) as SettingKey[]).filter(
  (k) => settingDefinitions[k].groupOverridable,
);
export type GroupOverridableKey = {
  [K in SettingKey]: Defs[K]['groupOverridable'] extends true ? K : never;
}[SettingKey];

/** A group's `config`: overrides of the group-overridable settings. */
export const groupConfigSchema = settingsSchema
  .pick(
    Object.fromEntries(groupOverridableKeys.map((k) => [k, true])) as { [K in GroupOverridableKey]: true },
  )
  .partial();
export type GroupConfig = z.infer<typeof groupConfigSchema>;

/** A group's `config` in a create or update body: retired settings are refused unless empty, then dropped. */
export const groupConfigInputSchema = groupConfigSchema.extend(retiredFields).transform(dropRetired);

/**
 * A stored group `config`, read defensively: each override that is still a valid setting is kept, anything else
 * (a retired setting such as `proxyUrl`, a value an older version allowed) is dropped, so one stale entry never
 * loses the others.
 */
export function readGroupConfig(value: unknown): GroupConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, unknown> = {};
  for (const key of groupOverridableKeys) {
    const raw = (value as Record<string, unknown>)[key];
    if (raw === undefined) continue;
    const parsed = settingDefinitions[key].schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
  }
  return out;
}
export type EffectiveSettings = Settings;

/** One row of `GET /api/settings` → `schema`. */
export const settingSchemaEntrySchema = z.object({
  key: z.string(),
  type: z.string(),
  default: z.unknown(),
  min: z.number().optional(),
  max: z.number().optional(),
  options: z.array(z.string()).optional(),
  description: z.string(),
  category: settingCategorySchema,
  groupOverridable: z.boolean(),
  secret: z.boolean().optional(),
});
export type SettingSchemaEntry = z.infer<typeof settingSchemaEntrySchema>;

/** The settings metadata the console renders. */
export function describeSettings(): SettingSchemaEntry[] {
  return (Object.keys(settingDefinitions) as SettingKey[]).map((key) => {
    const d: SettingDef<z.ZodType> = settingDefinitions[key];
    return {
      key,
      type: d.type,
      default: d.default,
      ...(d.min === undefined ? {} : { min: d.min }),
      ...(d.max === undefined ? {} : { max: d.max }),
      ...(d.options ? { options: [...d.options] } : {}),
      description: d.description,
      category: d.category,
      groupOverridable: d.groupOverridable,
      ...(d.secret ? { secret: true } : {}),
    };
  });
}
