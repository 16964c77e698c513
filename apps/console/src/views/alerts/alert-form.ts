import { ALERT_EVENTS, alertChannelCreateSchema, alertChannelPatchSchema } from '@keyway/contracts';
import type {
  AlertChannel,
  AlertChannelCreate,
  AlertChannelPatch,
  AlertChannelType,
  AlertEvent,
} from '@keyway/contracts';

/** The channel dialog's state. `url` and `secret` are write-only: blank on edit means "keep the stored one". */
export interface AlertChannelForm {
  name: string;
  type: AlertChannelType;
  url: string;
  secret: string;
  /** Editing a channel that has a secret: whether to remove it (a blank field keeps it). */
  clearSecret: boolean;
  chatId: string;
  events: AlertEvent[];
  enabled: boolean;
}

/** Which types take a secret, and what it is for (shown as the field's hint). */
export const SECRET_TYPES: ReadonlySet<AlertChannelType> = new Set(['webhook', 'feishu', 'dingtalk']);

export function emptyChannelForm(): AlertChannelForm {
  return {
    name: '',
    type: 'webhook',
    url: '',
    secret: '',
    clearSecret: false,
    chatId: '',
    events: [...ALERT_EVENTS],
    enabled: true,
  };
}

export function formFromChannel(c: AlertChannel): AlertChannelForm {
  return {
    name: c.name,
    type: c.type,
    url: '',
    secret: '',
    clearSecret: false,
    chatId: c.chatId ?? '',
    events: [...c.events],
    enabled: c.enabled,
  };
}

export type BuildResult<T> = { ok: true; body: T } | { ok: false; errors: Record<string, string> };

function errorsOf(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) out[i.path.map(String).join('.') || 'form'] ??= i.message;
  return out;
}

/** The POST body, validated with the API's own schema. */
export function buildChannelCreate(form: AlertChannelForm): BuildResult<AlertChannelCreate> {
  const parsed = alertChannelCreateSchema.safeParse({
    name: form.name.trim(),
    type: form.type,
    url: form.url.trim(),
    secret: SECRET_TYPES.has(form.type) && form.secret !== '' ? form.secret : null,
    chatId: form.type === 'telegram' ? form.chatId.trim() || null : null,
    events: form.events,
    enabled: form.enabled,
  });
  return parsed.success
    ? { ok: true, body: parsed.data }
    : { ok: false, errors: errorsOf(parsed.error.issues) };
}

/** The PATCH body: the URL and secret only when typed (or the secret cleared), so the stored ones stay. */
export function buildChannelPatch(
  form: AlertChannelForm,
  original: AlertChannel,
): BuildResult<AlertChannelPatch> {
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    events: form.events,
    enabled: form.enabled,
    chatId: form.type === 'telegram' ? form.chatId.trim() || null : null,
  };
  if (form.type !== original.type) body.type = form.type;
  if (form.url.trim() !== '') body.url = form.url.trim();
  if (!SECRET_TYPES.has(form.type) || form.clearSecret) body.secret = null;
  else if (form.secret !== '') body.secret = form.secret;
  const errors: Record<string, string> = {};
  // A new type needs its own URL: the stored one belongs to another platform.
  if (form.type !== original.type && body.url === undefined) errors.url = 'required';
  if (form.type === 'telegram' && !body.chatId) errors.chatId = 'required';
  const parsed = alertChannelPatchSchema.safeParse(body);
  if (!parsed.success) Object.assign(errors, errorsOf(parsed.error.issues));
  return parsed.success && Object.keys(errors).length === 0
    ? { ok: true, body: parsed.data }
    : { ok: false, errors };
}
