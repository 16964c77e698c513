// GPT-Load's system settings (and the same keys inside `groups.config`) as Keyway settings. GPT-Load stores every
// value as text (`1e+06` style numbers included); units are seconds and minutes on both sides, so converting
// is renaming and clamping to Keyway's ranges. What has no Keyway counterpart is listed with why.
import type { GroupConfig, Settings } from '@keyway/contracts';
import { parseStatusCodeSpec, settingDefinitions } from '@keyway/contracts';
import type { JsonValue } from './types';

/** A GPT-Load setting that was not applied, and why. */
export interface IgnoredSetting {
  key: string;
  reason: string;
}

/** Keyway settings an import writes (proxy keys are handled separately: they are stored hashed). */
export type MappedSettings = Partial<Omit<Settings, 'proxyKeys'>>;

type Kind = 'int' | 'bool' | 'proxy' | 'failover' | 'url';

/** GPT-Load key → Keyway setting, for the settings with a counterpart. */
const MAPPED: Readonly<Record<string, { to: keyof MappedSettings; kind: Kind }>> = {
  app_url: { to: 'appUrl', kind: 'url' },
  request_log_retention_days: { to: 'requestLogRetentionDays', kind: 'int' },
  enable_request_body_logging: { to: 'requestLogBodies', kind: 'bool' },
  request_timeout: { to: 'requestTimeoutSeconds', kind: 'int' },
  connect_timeout: { to: 'connectTimeoutSeconds', kind: 'int' },
  idle_conn_timeout: { to: 'idleConnTimeoutSeconds', kind: 'int' },
  response_header_timeout: { to: 'responseHeaderTimeoutSeconds', kind: 'int' },
  proxy_url: { to: 'proxyUrl', kind: 'proxy' },
  max_retries: { to: 'maxRetries', kind: 'int' },
  blacklist_threshold: { to: 'blacklistThreshold', kind: 'int' },
  failover_status_codes: { to: 'failoverStatusCodes', kind: 'failover' },
  key_validation_interval_minutes: { to: 'keyRecheckIntervalMinutes', kind: 'int' },
  key_validation_concurrency: { to: 'keyValidationConcurrency', kind: 'int' },
  key_validation_timeout_seconds: { to: 'keyValidationTimeoutSeconds', kind: 'int' },
};

/** GPT-Load settings Keyway has no counterpart for, with the reason shown to the operator. */
const UNMAPPED: Readonly<Record<string, string>> = {
  request_log_write_interval_minutes:
    'Keyway writes request logs in batches within about a second; there is no buffering interval to set',
  max_idle_conns:
    'GPT-Load limits idle pooled connections; Keyway limits open connections per upstream (maxConnsPerUpstream, default 100) instead',
  max_idle_conns_per_host:
    'GPT-Load limits idle pooled connections per host; Keyway limits open connections per upstream (maxConnsPerUpstream) instead',
};

/** GPT-Load's default failover rule (and its hard-coded rule before v1.4.7). */
const DEFAULT_FAILOVER = '400-403,405-999';

/** A JSON value as the text GPT-Load would have stored (objects as JSON, null as ''). */
function text(raw: JsonValue): string {
  if (raw === null) return '';
  return typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
}

/** Go's strconv.ParseBool, which GPT-Load uses for boolean settings. */
function parseGoBool(value: JsonValue): boolean | null {
  if (typeof value === 'boolean') return value;
  const s = text(value);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

function sameRanges(a: string, b: string): boolean {
  const pa = parseStatusCodeSpec(a);
  const pb = parseStatusCodeSpec(b);
  return pa.ok && pb.ok && JSON.stringify(pa.ranges) === JSON.stringify(pb.ranges);
}

/** A mapped value, or why it cannot be one. `undefined` value with no reason = "unset" (a valid mapping). */
type Converted = { ok: true; value: unknown } | { ok: false; reason: string };

function convert(key: string, kind: Kind, to: keyof MappedSettings, raw: JsonValue): Converted {
  if (kind === 'bool') {
    const b = parseGoBool(raw);
    return b === null ? { ok: false, reason: `"${text(raw)}" is not a boolean` } : { ok: true, value: b };
  }
  if (kind === 'int') {
    // `Number`, not parseInt: GPT-Load saves 1000000 as "1e+06".
    const n = typeof raw === 'number' ? raw : Number(text(raw).trim());
    if (!Number.isFinite(n)) return { ok: false, reason: `"${text(raw)}" is not a number` };
    const def = settingDefinitions[to] as { min?: number; max?: number };
    let v = Math.round(n);
    // GPT-Load's `<= 0` keeps logs forever, Keyway's 0 does.
    if (key === 'request_log_retention_days' && v < 0) v = 0;
    if (def.min !== undefined && v < def.min) v = def.min;
    if (def.max !== undefined && v > def.max) v = def.max;
    return { ok: true, value: v };
  }
  const s = text(raw).trim();
  if (kind === 'failover') {
    if (s === '')
      return {
        ok: false,
        reason:
          'empty: GPT-Load then never fails over on a status code; Keyway has no such mode (its classifier decides)',
      };
    if (sameRanges(s, DEFAULT_FAILOVER)) return { ok: true, value: null };
    return parseStatusCodeSpec(s).ok
      ? { ok: true, value: s }
      : { ok: false, reason: `"${s}" is not a list of status codes` };
  }
  if (kind === 'proxy') {
    if (s === '') return { ok: true, value: null };
    const parsed = settingDefinitions.proxyUrl.schema.safeParse(s);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: 'not a proxy URL Keyway accepts (http, https, socks5 or socks5h, host only)' };
  }
  const parsed = settingDefinitions.appUrl.schema.safeParse(s);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: `"${s}" is not an http(s) URL` };
}

/** What mapping the system settings produced. */
export interface SettingsMapping {
  values: MappedSettings;
  /** GPT-Load setting keys whose value was applied. */
  applied: string[];
  ignored: IgnoredSetting[];
  /** The global proxy keys text (`proxy_keys`), mapped with the group ones. */
  proxyKeys: string | null;
}

/** Maps `system_settings` rows; `proxy_keys` is returned as text for the proxy-key mapping. */
export function mapSettings(rows: ReadonlyArray<{ key: string; value: string }>): SettingsMapping {
  const out: SettingsMapping = { values: {}, applied: [], ignored: [], proxyKeys: null };
  for (const { key, value } of rows) {
    if (key === 'proxy_keys') {
      out.proxyKeys = value;
      continue;
    }
    const m = MAPPED[key];
    if (!m) {
      out.ignored.push({ key, reason: UNMAPPED[key] ?? 'not a GPT-Load 1.4 setting Keyway knows' });
      continue;
    }
    const c = convert(key, m.kind, m.to, value);
    if (!c.ok) out.ignored.push({ key, reason: c.reason });
    else if (m.kind === 'failover' && c.value === null)
      out.ignored.push({
        key,
        reason: `GPT-Load's default (${DEFAULT_FAILOVER}): left unset, so Keyway's failure classifier decides`,
      });
    else {
      (out.values as Record<string, unknown>)[m.to] = c.value;
      out.applied.push(key);
    }
  }
  return out;
}

/**
 * Maps a group's `config` to a Keyway group config; `problems` says what was left out and why (`field: reason`).
 * A `"proxy_url": ""` override (GPT-Load: ignore the global proxy, use the environment's) has no Keyway form.
 */
export function mapGroupConfig(config: Readonly<Record<string, JsonValue>> | null): {
  config: GroupConfig;
  problems: string[];
} {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(config ?? {})) {
    const m = MAPPED[key];
    if (!m || !settingDefinitions[m.to].groupOverridable) {
      problems.push(`config.${key}: ${UNMAPPED[key] ?? 'not a per-group setting Keyway has'}`);
      continue;
    }
    if (m.kind === 'proxy' && text(raw).trim() === '') {
      problems.push(
        'config.proxy_url: an empty override (leave through the environment proxy, not the global one) has no Keyway form; the group uses the global proxyUrl',
      );
      continue;
    }
    const c = convert(key, m.kind, m.to, raw);
    if (!c.ok) problems.push(`config.${key}: ${c.reason}`);
    else if (c.value !== null) out[m.to] = c.value;
  }
  return { config: out, problems };
}
