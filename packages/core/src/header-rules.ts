import type { HeaderRule } from '@keyway/contracts';

/** Outgoing headers keyed by lower-case name. */
export type MutableHeaders = Record<string, string | string[] | undefined>;

/** Values of the header-rule variables. */
export interface RuleVars {
  clientIp: string;
  groupName: string;
  apiKey: string;
  now: number;
}

/**
 * Applies a group's header rules in order: `remove` deletes, `set` overwrites after substituting
 * `${CLIENT_IP}`, `${GROUP_NAME}`, `${API_KEY}`, `${TIMESTAMP_MS}` and `${TIMESTAMP_S}`. Runs after the
 * credential is placed, so a rule may override or remove it (GPT-Load semantics). Used by proxy requests and by
 * key validation alike.
 */
export function applyHeaderRules(
  headers: MutableHeaders,
  rules: readonly HeaderRule[],
  vars: RuleVars,
): void {
  for (const rule of rules) {
    const name = rule.key.toLowerCase();
    if (rule.action === 'remove') {
      delete headers[name];
      continue;
    }
    headers[name] = rule.value.includes('${') ? substitute(rule.value, vars) : rule.value;
  }
}

function substitute(value: string, v: RuleVars): string {
  return value
    .replaceAll('${CLIENT_IP}', v.clientIp)
    .replaceAll('${GROUP_NAME}', v.groupName)
    .replaceAll('${API_KEY}', v.apiKey)
    .replaceAll('${TIMESTAMP_MS}', String(v.now))
    .replaceAll('${TIMESTAMP_S}', String(Math.floor(v.now / 1000)));
}

/** An HTTP field name (RFC 9110 token), the same test as node's `validateHeaderName`. */
const HEADER_NAME = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
/** Anything an HTTP field value cannot carry (node's and undici's test): CR, LF, NUL, other controls, > U+00FF. */
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers the gateway frames itself; undici refuses (or would mis-frame) a request that sets them. */
const FRAMING_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);
const VARIABLE = /\$\{(?:CLIENT_IP|GROUP_NAME|API_KEY|TIMESTAMP_MS|TIMESTAMP_S)\}/g;

/** Whether `value` can be sent as an HTTP header value (no CR, LF, NUL or other controls; Latin-1 only). */
export function isSendableHeaderValue(value: string): boolean {
  return !INVALID_VALUE_CHAR.test(value);
}

/** Something in a group's stored configuration that can never be sent: the field (a path) and why (no value). */
export interface ConfigProblem {
  field: string;
  reason: string;
}

/** The parts of a group that end up in an upstream request; loosely typed, as stored data may predate checks. */
export interface SendableGroupConfig {
  upstreams?: ReadonlyArray<{ url?: unknown }>;
  headerRules?: ReadonlyArray<{ action?: unknown; key?: unknown; value?: unknown }>;
}

/**
 * Finds configuration of a group that no request could be sent with — an upstream URL that is not http(s), a
 * header rule with an invalid name or a value with CR/LF/NUL or non-Latin-1 characters, a rule that sets a framing
 * header. Such a request fails before a byte leaves the gateway: the configuration's fault, never a key's. Pure,
 * so the gateway (per snapshot) and the dashboard's warnings (per stored row) give the same answer.
 */
export function unsendableConfig(group: SendableGroupConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  (group.upstreams ?? []).forEach((u, i) => {
    const reason = upstreamUrlProblem(u.url);
    if (reason) out.push({ field: `upstreams[${i}].url`, reason });
  });
  (group.headerRules ?? []).forEach((r, i) => {
    const name = typeof r.key === 'string' ? r.key.trim() : '';
    if (!HEADER_NAME.test(name)) {
      out.push({ field: `headerRules[${i}].key`, reason: 'is not a valid HTTP header name' });
      return;
    }
    if (r.action !== 'set') return;
    if (FRAMING_HEADERS.has(name.toLowerCase()))
      out.push({
        field: `headerRules[${i}].key`,
        reason: `sets '${name.toLowerCase()}', which the gateway frames itself`,
      });
    const value = typeof r.value === 'string' ? r.value.replace(VARIABLE, '') : null;
    if (value === null || !isSendableHeaderValue(value))
      out.push({
        field: `headerRules[${i}].value`,
        reason:
          'contains characters an HTTP header cannot carry (CR, LF, NUL, other controls or non-Latin-1)',
      });
  });
  return out;
}

function upstreamUrlProblem(url: unknown): string | null {
  if (typeof url !== 'string') return 'is missing';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'is not an http or https URL';
  if (parsed.hostname === '') return 'has no host';
  return null;
}
