/**
 * Raw rows (by column name, any driver) → snapshot rows. Columns are read by name because databases first created
 * by older GPT-Load versions have a different column order and lack later columns (absent = NULL).
 */
import { decodeStoredKey } from './crypto';
import type {
  GptLoadGroup,
  GptLoadHeaderRule,
  GptLoadHourlyStat,
  GptLoadKey,
  GptLoadReadIssue,
  GptLoadRequestLog,
  GptLoadSetting,
  GptLoadSubGroup,
  GptLoadUpstream,
  JsonObject,
  JsonValue,
} from './types';
import { isEmptyJson, toBool, toJson, toNumber, toNumberOrNull, toText, type RawRow } from './values';

/** Turns a driver's datetime value into a Date (each source knows its own zone rules). */
export type ToDate = (v: unknown) => Date | null;

/** Collects what could not be read, so the import can report it instead of failing. */
export type IssueSink = (issue: GptLoadReadIssue) => void;

export function mapSetting(r: RawRow): GptLoadSetting {
  return { key: toText(r.setting_key) ?? '', value: toText(r.setting_value) ?? '' };
}

export function mapSubGroup(r: RawRow): GptLoadSubGroup {
  return { groupId: toNumber(r.group_id), subGroupId: toNumber(r.sub_group_id), weight: toNumber(r.weight) };
}

/** A groups row; malformed JSON columns read as none and are reported. */
export function mapGroup(r: RawRow, toDate: ToDate, issue: IssueSink): GptLoadGroup {
  const id = toNumber(r.id);
  const json = (field: string): JsonValue | undefined => {
    try {
      const v = toJson(r[field]);
      return isEmptyJson(v) ? undefined : v;
    } catch {
      issue({ table: 'groups', id, field, reason: 'not valid JSON' });
      return undefined;
    }
  };
  const object = (field: string): JsonObject | null => {
    const v = json(field);
    if (v === undefined) return null;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
    issue({ table: 'groups', id, field, reason: 'not a JSON object' });
    return null;
  };
  return {
    id,
    name: toText(r.name) ?? '',
    displayName: emptyToNull(r.display_name),
    proxyKeys: emptyToNull(r.proxy_keys),
    description: emptyToNull(r.description),
    groupType: toText(r.group_type) || 'standard',
    upstreams: upstreams(json('upstreams'), id, issue),
    validationEndpoint: emptyToNull(r.validation_endpoint),
    channelType: toText(r.channel_type) ?? '',
    sort: toNumber(r.sort),
    testModel: toText(r.test_model) ?? '',
    paramOverrides: object('param_overrides'),
    config: object('config'),
    headerRules: headerRules(json('header_rules'), id, issue),
    modelRedirectRules: object('model_redirect_rules'),
    modelRedirectStrict: toBool(r.model_redirect_strict),
    lastValidatedAt: toDate(r.last_validated_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

function upstreams(v: JsonValue | undefined, id: number, issue: IssueSink): GptLoadUpstream[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    issue({ table: 'groups', id, field: 'upstreams', reason: 'not a JSON array' });
    return [];
  }
  const out: GptLoadUpstream[] = [];
  v.forEach((u, i) => {
    const rec = asRecord(u);
    const weight = toNumberOrNull(rec?.weight ?? 1);
    if (rec && typeof rec.url === 'string' && weight !== null) out.push({ url: rec.url, weight });
    else issue({ table: 'groups', id, field: `upstreams[${i}]`, reason: 'not an {url, weight} object' });
  });
  return out;
}

function headerRules(v: JsonValue | undefined, id: number, issue: IssueSink): GptLoadHeaderRule[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v)) {
    issue({ table: 'groups', id, field: 'header_rules', reason: 'not a JSON array' });
    return null;
  }
  const out: GptLoadHeaderRule[] = [];
  v.forEach((h, i) => {
    const rec = asRecord(h);
    if (rec && typeof rec.key === 'string') {
      out.push({
        key: rec.key,
        value: typeof rec.value === 'string' ? rec.value : '',
        action: toText(rec.action) ?? 'set',
      });
    } else
      issue({
        table: 'groups',
        id,
        field: `header_rules[${i}]`,
        reason: 'not a {key, value, action} object',
      });
  });
  return out.length ? out : null;
}

function asRecord(v: JsonValue): JsonObject | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
}

function emptyToNull(v: unknown): string | null {
  const t = toText(v);
  return t === null || t === '' ? null : t;
}

/** An api_keys row, with its key decrypted (or marked undecryptable). */
export function mapKey(r: RawRow, aesKey: Buffer | null, toDate: ToDate): GptLoadKey {
  const keyHash = emptyToNull(r.key_hash);
  const decoded = decodeStoredKey(aesKey, (toText(r.key_value) ?? '').trim(), keyHash);
  return {
    id: toNumber(r.id),
    groupId: toNumber(r.group_id),
    keyValue: decoded.value,
    encoding: decoded.encoding,
    keyHash,
    status: toText(r.status) || 'active',
    notes: toText(r.notes) ?? '',
    requestCount: toNumber(r.request_count),
    failureCount: toNumber(r.failure_count),
    lastUsedAt: toDate(r.last_used_at),
    createdAt: toDate(r.created_at),
  };
}

/** A request_logs row; `''` and `failed-to-encryption` key values read as no key. */
export function mapRequestLog(r: RawRow, aesKey: Buffer | null, toDate: ToDate): GptLoadRequestLog {
  const stored = toText(r.key_value) ?? '';
  const keyHash = emptyToNull(r.key_hash);
  const keyValue =
    stored === '' || stored === 'failed-to-encryption'
      ? null
      : decodeStoredKey(aesKey, stored, keyHash).value;
  const parentId = toNumber(r.parent_group_id);
  return {
    id: toText(r.id) ?? '',
    timestamp: toDate(r.timestamp) ?? new Date(0),
    groupId: toNumber(r.group_id),
    groupName: emptyToNull(r.group_name),
    parentGroupId: parentId === 0 ? null : parentId,
    parentGroupName: emptyToNull(r.parent_group_name),
    keyValue,
    keyHash,
    model: emptyToNull(r.model),
    isSuccess: toBool(r.is_success),
    sourceIp: emptyToNull(r.source_ip),
    statusCode: toNumber(r.status_code),
    requestPath: emptyToNull(r.request_path),
    durationMs: toNumber(r.duration),
    errorMessage: emptyToNull(r.error_message),
    userAgent: emptyToNull(r.user_agent),
    requestType: toText(r.request_type) || 'final',
    upstreamAddr: emptyToNull(r.upstream_addr),
    isStream: toBool(r.is_stream),
    requestBody: emptyToNull(r.request_body),
  };
}

export function mapHourlyStat(r: RawRow, toDate: ToDate): GptLoadHourlyStat {
  return {
    id: toNumber(r.id),
    time: toDate(r.time) ?? new Date(0),
    groupId: toNumber(r.group_id),
    successCount: toNumber(r.success_count),
    failureCount: toNumber(r.failure_count),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}
