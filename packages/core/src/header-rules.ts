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
