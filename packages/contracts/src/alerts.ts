import { z } from 'zod';

/** What alerts are sent about (API.md "Alerts"). */
export const ALERT_EVENTS = [
  'key.invalid',
  'key.blacklisted',
  'group.exhausted',
  'group.storm',
  'upstream.down',
  'budget.warning',
  'budget.exceeded',
  'keys.restored',
  'task.finished',
] as const;
export const alertEventSchema = z.enum(ALERT_EVENTS);
export type AlertEvent = z.infer<typeof alertEventSchema>;

export const alertSeveritySchema = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof alertSeveritySchema>;

/** How bad each event is. */
export const ALERT_SEVERITY: Readonly<Record<AlertEvent, AlertSeverity>> = {
  'key.invalid': 'warning',
  'key.blacklisted': 'warning',
  'group.exhausted': 'critical',
  'group.storm': 'critical',
  'upstream.down': 'critical',
  'budget.warning': 'warning',
  'budget.exceeded': 'critical',
  'keys.restored': 'info',
  'task.finished': 'info',
};

export const alertChannelTypeSchema = z.enum(['webhook', 'slack', 'feishu', 'dingtalk', 'wecom', 'telegram']);
export type AlertChannelType = z.infer<typeof alertChannelTypeSchema>;

// Line breaks and other control characters in a name, URL or chat id would split a header or a log line.
// eslint-disable-next-line no-control-regex
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

// Checked before the URL parser, which would silently drop line breaks and tabs.
const alertUrlSchema = z
  .string()
  .max(2000)
  .refine(noControl, { message: 'must not contain line breaks or control characters' })
  .pipe(z.url({ protocol: /^https?$/ }));

const alertChannelFields = {
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine(noControl, { message: 'must not contain control characters' }),
  type: alertChannelTypeSchema,
  /** Write-only: chat webhook URLs carry their token. For Telegram: the Bot API base with the token (`https://api.telegram.org/bot<token>`). */
  url: alertUrlSchema,
  /** Write-only: HMAC secret (webhook), signing secret (Feishu, DingTalk); null = none. */
  secret: z.string().min(1).max(500).refine(noControl).nullable().default(null),
  /** Telegram's chat id. */
  chatId: z.string().trim().min(1).max(255).refine(noControl).nullable().default(null),
  events: z
    .array(alertEventSchema)
    .min(1)
    .max(ALERT_EVENTS.length)
    .refine((l) => new Set(l).size === l.length, { message: 'lists an event twice' }),
  enabled: z.boolean().default(true),
};

function checkChannel(c: { type?: AlertChannelType; chatId?: string | null }, ctx: z.RefinementCtx) {
  if (c.type === 'telegram' && !c.chatId)
    ctx.addIssue({ code: 'custom', path: ['chatId'], message: 'a telegram channel needs chatId' });
}

/** `POST /api/alerts/channels` body. */
export const alertChannelCreateSchema = z.strictObject(alertChannelFields).superRefine(checkChannel);
export type AlertChannelCreate = z.infer<typeof alertChannelCreateSchema>;

/** `PATCH /api/alerts/channels/{id}` body: omitted fields are kept (`url`/`secret` too). */
export const alertChannelPatchSchema = z.strictObject({
  name: alertChannelFields.name.optional(),
  type: alertChannelTypeSchema.optional(),
  url: alertUrlSchema.optional(),
  secret: z.string().min(1).max(500).refine(noControl).nullable().optional(),
  chatId: z.string().trim().min(1).max(255).refine(noControl).nullable().optional(),
  events: alertChannelFields.events.optional(),
  enabled: z.boolean().optional(),
});
export type AlertChannelPatch = z.infer<typeof alertChannelPatchSchema>;

/** A channel as the API returns it: `url` and `secret` masked. */
export const alertChannelSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  type: alertChannelTypeSchema,
  /** Masked (scheme and host only, the rest `…`). */
  url: z.string(),
  hasSecret: z.boolean(),
  chatId: z.string().nullable(),
  events: z.array(alertEventSchema),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AlertChannel = z.infer<typeof alertChannelSchema>;

/** `POST /api/alerts/channels/{id}/test` answer. */
export const alertTestResultSchema = z.object({
  delivered: z.boolean(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type AlertTestResult = z.infer<typeof alertTestResultSchema>;

/** One row of `GET /api/alerts/history`. */
export const alertHistoryItemSchema = z.object({
  id: z.number().int(),
  time: z.string(),
  channelId: z.number().int().nullable(),
  channelName: z.string().nullable(),
  event: alertEventSchema,
  severity: alertSeveritySchema,
  subject: z.string(),
  message: z.string(),
  status: z.enum(['sent', 'failed', 'suppressed']),
  suppressed: z.number().int(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type AlertHistoryItem = z.infer<typeof alertHistoryItemSchema>;

/** The generic webhook's JSON body (signed with `x-keyway-signature: sha256=<hex>` when a secret is set). */
export const alertPayloadSchema = z.object({
  event: alertEventSchema,
  time: z.string(),
  severity: alertSeveritySchema,
  group: z.string().optional(),
  /** Masked. */
  key: z.string().optional(),
  /** The access key's name. */
  accessKey: z.string().optional(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AlertPayload = z.infer<typeof alertPayloadSchema>;

/**
 * What a producer reports (and the `alert` job carries): the payload without its severity (derived from the
 * event), plus the de-duplication subject (`group:<name>`, `key:<id>`, `access-key:<id>:<limit>` …).
 */
export const alertInputSchema = alertPayloadSchema.omit({ severity: true }).extend({
  subject: z.string().min(1).max(255),
});
export type AlertInput = z.infer<typeof alertInputSchema>;
