import {
  CHANNEL_INFO,
  defaultAffinity,
  groupCreateSchema,
  groupPatchSchema,
  TRANSLATABLE_FROM,
  UPSTREAM_URL_MESSAGES,
} from '@keyway/contracts';
import type {
  Affinity,
  Channel,
  Group,
  GroupCreate,
  GroupPatch,
  GroupType,
  TranslateDialect,
} from '@keyway/contracts';
import type { z } from 'zod';
import { parseJsonObject, toJsonText } from '../../utils/json-text';
import { keyLimitsBody, keyLimitsForm } from './key-limits';
import type { KeyLimitsForm } from './key-limits';
import { aliasesBody, aliasRows, proxyPoolBody, subGroupRows, subGroupsBody } from './routing-form';
import type { AliasRow, SubGroupRow } from './routing-form';

/** Variables a header rule value may use (API.md). */
export const HEADER_VARIABLES = [
  'CLIENT_IP',
  'GROUP_NAME',
  'API_KEY',
  'TIMESTAMP_MS',
  'TIMESTAMP_S',
] as const;

export interface HeaderRuleRow {
  action: 'set' | 'remove';
  key: string;
  value: string;
}

export interface OverrideRow {
  key: string;
  value: unknown;
}

export type { SubGroupRow } from './routing-form';

/** The group form's editable state; JSON fields stay text until submit so a typo never loses input. */
export interface GroupForm {
  name: string;
  displayName: string;
  description: string;
  type: GroupType;
  channel: Channel;
  upstreams: Array<{ url: string; weight: number }>;
  testModel: string;
  validationEndpoint: string;
  proxyKeys: string[];
  /** Egress proxies the keys are pinned to (saved ones masked, as the API shows them); [] = none. */
  proxyPool: string[];
  /** Model globs for key-routed endpoints; empty = any model. */
  models: string[];
  paramOverridesText: string;
  modelRedirectsText: string;
  modelRedirectStrict: boolean;
  modelAliases: AliasRow[];
  headerRules: HeaderRuleRow[];
  /** Pacing limits per upstream key; blank inputs = no limit. */
  keyLimits: KeyLimitsForm;
  affinity: Affinity;
  /** IANA zone; blank = the channel's default. */
  dailyResetTimeZone: string;
  /** Caller dialects this group also accepts (format translation); only those its channel allows are sent. */
  translateFrom: TranslateDialect[];
  overrides: OverrideRow[];
  subGroups: SubGroupRow[];
}

export function emptyForm(type: GroupType, channel: Channel = 'openai'): GroupForm {
  return {
    name: '',
    displayName: '',
    description: '',
    type,
    channel,
    upstreams: type === 'standard' ? [{ url: CHANNEL_INFO[channel].upstream, weight: 1 }] : [],
    testModel: '',
    validationEndpoint: '',
    proxyKeys: [],
    proxyPool: [],
    models: [],
    paramOverridesText: '',
    modelRedirectsText: '',
    modelRedirectStrict: false,
    modelAliases: [],
    headerRules: [],
    keyLimits: keyLimitsForm(null),
    affinity: { ...defaultAffinity },
    dailyResetTimeZone: '',
    translateFrom: [],
    overrides: [],
    subGroups: [],
  };
}

export function formFromGroup(g: Group): GroupForm {
  return {
    name: g.name,
    displayName: g.displayName,
    description: g.description,
    type: g.type,
    channel: g.channel,
    upstreams: g.upstreams.map((u) => ({ ...u })),
    testModel: g.testModel,
    validationEndpoint: g.validationEndpoint,
    proxyKeys: [...g.proxyKeys],
    proxyPool: [...g.proxyPool],
    models: [...g.models],
    paramOverridesText: toJsonText(g.paramOverrides),
    modelRedirectsText: toJsonText(g.modelRedirects),
    modelRedirectStrict: g.modelRedirectStrict,
    modelAliases: aliasRows(g.modelAliases),
    headerRules: g.headerRules.map((r) => ({ action: r.action, key: r.key, value: r.value ?? '' })),
    keyLimits: keyLimitsForm(g.keyLimits),
    affinity: { ...g.affinity },
    dailyResetTimeZone: g.dailyResetTimeZone ?? '',
    translateFrom: [...g.translate.from],
    overrides: Object.entries(g.config).map(([key, value]) => ({ key, value })),
    subGroups: subGroupRows(g.subGroups),
  };
}

/** When the channel changes on a new group, an upstream still at the old channel's default follows along. */
export function switchChannel(form: GroupForm, next: Channel): void {
  const old = CHANNEL_INFO[form.channel].upstream;
  for (const u of form.upstreams) if (u.url === old) u.url = CHANNEL_INFO[next].upstream;
  form.channel = next;
  form.translateFrom = form.translateFrom.filter((d) => translatableFrom(next).includes(d));
}

/** The caller dialects a group of this channel may also accept. */
export function translatableFrom(channel: Channel): readonly TranslateDialect[] {
  return TRANSLATABLE_FROM[channel] ?? [];
}

/** Field path → message; paths follow the API's (`upstreams.0.url`), so server errors land in the same place. */
export type FieldErrors = Record<string, string>;

export type BuildResult<T> = { ok: true; body: T } | { ok: false; errors: FieldErrors };

/** Reasons the console words itself (the rest show the schema's message). */
export type FormProblem =
  | 'jsonSyntax'
  | 'jsonNotObject'
  | 'redirectNotString'
  | 'nameRule'
  | 'urlInvalid'
  | 'urlCredentials'
  | 'urlCharacters'
  | 'modelMissing'
  | 'modelDuplicate'
  | 'aliasDuplicate';
export type Describe = (problem: FormProblem, detail?: string) => string;

function issuesToErrors(issues: z.ZodError['issues'], describe: Describe): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of issues) {
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (path === 'name') message = describe('nameRule');
    else if (/^upstreams\.\d+\.url$/.test(path)) message = describe(urlProblem(issue.message));
    out[path] ??= message;
  }
  return withListErrors(out);
}

function urlProblem(message: string): FormProblem {
  if (message === UPSTREAM_URL_MESSAGES.credentials) return 'urlCredentials';
  if (message === UPSTREAM_URL_MESSAGES.characters) return 'urlCharacters';
  return 'urlInvalid';
}

/**
 * Errors of one proxy key or model glob (`proxyKeys.2`, from the schema or the API's strength check) also shown
 * on the whole list, which is where the form displays them: "#3: …".
 */
export function withListErrors(errors: FieldErrors): FieldErrors {
  const out = { ...errors };
  for (const [path, message] of Object.entries(errors)) {
    const m = /^(proxyKeys|models)\.(\d+)$/.exec(path);
    if (m?.[1]) out[m[1]] ??= `#${Number(m[2]) + 1}: ${message}`;
  }
  return out;
}

function readJson(text: string, field: string, errors: FieldErrors, describe: Describe) {
  const r = parseJsonObject(text);
  if (r.ok) return r.value;
  errors[field] = describe(r.reason === 'syntax' ? 'jsonSyntax' : 'jsonNotObject', r.detail);
  return null;
}

/** The body fields shared by create and update, before schema validation. */
function rawBody(
  form: GroupForm,
  describe: Describe,
): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const paramOverrides = readJson(form.paramOverridesText, 'paramOverrides', errors, describe);
  const modelRedirects = readJson(form.modelRedirectsText, 'modelRedirects', errors, describe);
  if (modelRedirects && Object.values(modelRedirects).some((v) => typeof v !== 'string'))
    errors.modelRedirects = describe('redirectNotString');
  const standard = form.type === 'standard';
  const aliases = aliasesBody(form.modelAliases);
  for (const i of aliases.duplicates) errors[`modelAliasRows.${i}`] = describe('aliasDuplicate');
  const limits = keyLimitsBody(form.keyLimits);
  if (standard)
    for (const [path, problem] of Object.entries(limits.problems)) errors[path] = describe(problem);
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    displayName: form.displayName.trim(),
    description: form.description,
    type: form.type,
    channel: form.channel,
    upstreams: standard ? form.upstreams.map((u) => ({ url: u.url.trim(), weight: u.weight })) : [],
    proxyKeys: form.proxyKeys,
    models: form.models.map((m) => m.trim()).filter((m) => m !== ''),
    config: Object.fromEntries(form.overrides.filter((o) => o.key !== '').map((o) => [o.key, o.value])),
    // Aliases are resolved by the group a request names, so an aggregate has its own.
    modelAliases: aliases.aliases,
    translate: { from: form.translateFrom.filter((d) => translatableFrom(form.channel).includes(d)) },
    subGroups: standard ? [] : subGroupsBody(form.subGroups),
  };
  // Aggregates forward to their sub-groups: validation and request rewriting belong to those.
  if (standard) {
    Object.assign(body, {
      // Keys are pinned to a proxy of their own group's pool; an aggregate has no keys to pin.
      proxyPool: proxyPoolBody(form.proxyPool),
      testModel: form.testModel.trim(),
      validationEndpoint: form.validationEndpoint.trim(),
      paramOverrides: paramOverrides ?? {},
      modelRedirects: modelRedirects ?? {},
      modelRedirectStrict: form.modelRedirectStrict,
      headerRules: form.headerRules.map((r) =>
        r.action === 'set'
          ? { action: 'set', key: r.key.trim(), value: r.value }
          : { action: 'remove', key: r.key.trim() },
      ),
      // Pacing and affinity pick among a group's own keys; an aggregate leaves them to its sub-groups.
      keyLimits: limits.keyLimits,
      affinity: { ...form.affinity, header: form.affinity.header.trim() },
      dailyResetTimeZone: form.dailyResetTimeZone.trim() || null,
    });
  }
  return { body, errors };
}

/** Merges schema issues with the console's own (JSON) errors, which say more and therefore win. */
function finish<T>(parsed: z.ZodSafeParseResult<T>, own: FieldErrors, describe: Describe): BuildResult<T> {
  const schema = parsed.success ? {} : issuesToErrors(parsed.error.issues, describe);
  // A field the console already explained (a JSON editor) needs no second, vaguer message about its parts.
  const extra = Object.entries(schema).filter(([path]) => !((path.split('.')[0] ?? '') in own));
  const errors = { ...Object.fromEntries(extra), ...own };
  if (!parsed.success || Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, body: parsed.data };
}

/** Validates a new group with the API's own schema and returns the POST body. */
export function buildCreate(form: GroupForm, describe: Describe): BuildResult<GroupCreate> {
  const { body, errors } = rawBody(form, describe);
  const parsed = groupCreateSchema.safeParse(body);
  return finish(parsed, errors, describe);
}

/**
 * Validates an edit and returns the PATCH body: the type never changes, and the proxy keys are sent only
 * when the list changed (sending them replaces the stored set; omitting them keeps it).
 */
export function buildPatch(form: GroupForm, original: Group, describe: Describe): BuildResult<GroupPatch> {
  const { body, errors } = rawBody(form, describe);
  delete body.type;
  const keys = form.proxyKeys;
  const sameKeys =
    keys.length === original.proxyKeys.length && keys.every((k, i) => k === original.proxyKeys[i]);
  if (sameKeys) delete body.proxyKeys;
  return finish(groupPatchSchema.safeParse(body), errors, describe);
}
