import { isWeakSecret } from '@keyway/config';
import type { Warning } from '@keyway/contracts';
import { checkUpstreamUrl, unsendableConfig } from '@keyway/core';
import type { EgressPolicy, SendableGroupConfig } from '@keyway/core';
import { failuresByGroupName, listGroupsForWarnings } from '@keyway/db';
import { z } from 'zod';
import type { ControlPlaneDeps } from './context';
import { encryptionWarning } from './encryption';
import { loadSettings } from './settings-store';

/** Stored proxy keys with the weakness recorded at write time; anything unreadable counts as no keys. */
const storedKeysSchema = z
  .array(z.object({ hash: z.string(), masked: z.string(), weak: z.string().optional() }))
  .catch([]);

const PROXY_KEY_FIX =
  'Replace them with long random values (e.g. `openssl rand -hex 24`) and hand the new keys to their users.';

function weakProxyKeys(where: string, stored: unknown): Warning[] {
  const weak = storedKeysSchema.parse(stored).filter((k) => k.weak !== undefined);
  if (weak.length === 0) return [];
  const list = weak.map((k) => `${k.masked} (${k.weak ?? ''})`).join(', ');
  return [
    {
      type: 'PROXY_KEY_WEAK',
      severity: 'high',
      message: `${where}: ${weak.length === 1 ? 'a proxy key is' : `${weak.length} proxy keys are`} weak and could be guessed: ${list}.`,
      fix: PROXY_KEY_FIX,
    },
  ];
}

/** Wrong or missing proxy keys in the last hour above which the dashboard warns (issue 11 item 8). */
export const PROXY_AUTH_FAILURE_THRESHOLD = 100;

/** Arrays of objects from a JSON column; anything else (stored by an older version) counts as none. */
function objects(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    : [];
}

/** Stored group configuration the gateway cannot send (checked with the gateway's own rule): 500 GATEWAY_CONFIG. */
function gatewayConfigWarnings(
  g: { name: string; upstreams: unknown; headerRules: unknown },
  egress: EgressPolicy,
): Warning[] {
  const upstreams = objects(g.upstreams);
  const config: SendableGroupConfig = { upstreams, headerRules: objects(g.headerRules) };
  const problems = unsendableConfig(config);
  // Upstreams stored before the egress policy (or stranded by turning on egressBlockPrivate) are refused when the
  // gateway connects; names are judged there, by what they resolve to, so only the URL itself is checked here.
  const malformed = new Set(problems.map((p) => p.field));
  upstreams.forEach((u, i) => {
    const field = `upstreams[${i}].url`;
    const why = typeof u.url === 'string' && !malformed.has(field) ? checkUpstreamUrl(u.url, egress) : null;
    if (why) problems.push({ field, reason: `is refused by the egress policy: ${why}` });
  });
  if (problems.length === 0) return [];
  const list = problems.map((p) => `${p.field} ${p.reason}`).join('; ');
  return [
    {
      type: 'GATEWAY_CONFIG',
      severity: 'high',
      message: `Group '${g.name}' cannot be served: every request answers 500 GATEWAY_CONFIG (${list}).`,
      fix: `Edit group '${g.name}' and correct or remove the fields named; no key is charged meanwhile.`,
    },
  ];
}

/**
 * Proxy requests refused for a missing or wrong key in the last hour, per group. Read from the request logs (the
 * gateway logs refusals like any request), so standalone and distributed gateways count alike; with
 * `requestLogging: off` nothing is recorded and this stays silent (the Prometheus counter still counts).
 */
async function proxyAuthFailureWarnings(db: ControlPlaneDeps['db'], now: number): Promise<Warning[]> {
  const rows = await failuresByGroupName(db, 401, new Date(now - 3_600_000));
  const total = rows.reduce((n, r) => n + r.count, 0);
  if (total <= PROXY_AUTH_FAILURE_THRESHOLD) return [];
  const list = rows
    .sort((a, b) => b.count - a.count)
    .map((r) => `'${r.groupName}' (${r.count})`)
    .join(', ');
  return [
    {
      type: 'PROXY_AUTH_FAILURES',
      severity: 'high',
      message: `${total} proxy requests were refused for a missing or wrong proxy key in the last hour: ${list}.`,
      fix: 'If these are not your own clients with an outdated key, someone is guessing: check the client IPs of the 401 requests in the logs, and rotate the proxy keys of the groups named to long random values.',
    },
  ];
}

/** Everything `GET /api/dashboard/warnings` reports, high severity first. */
export async function collectWarnings(
  deps: Pick<ControlPlaneDeps, 'db' | 'keyPool' | 'authKey' | 'keyCipher'>,
): Promise<Warning[]> {
  const { db, keyPool } = deps;
  const [settings, groups] = await Promise.all([loadSettings(db), listGroupsForWarnings(db)]);
  const out: Warning[] = [];

  const auth = isWeakSecret(deps.authKey);
  if (auth)
    out.push({
      type: 'AUTH_KEY_WEAK',
      severity: auth.level === 'refuse' ? 'high' : 'medium',
      message: `The admin key (AUTH_KEY) is weak: ${auth.reason}. Whoever guesses it controls every group and key.`,
      fix: 'Set AUTH_KEY to a long random value (e.g. `openssl rand -base64 32`), or unset it to have a strong one generated, and restart.',
    });

  const encryption = encryptionWarning(deps.keyCipher);
  if (encryption) out.push(encryption);

  const egress: EgressPolicy = { blockPrivate: settings.egressBlockPrivate };
  for (const g of groups) out.push(...gatewayConfigWarnings(g, egress));
  out.push(...(await proxyAuthFailureWarnings(db, Date.now())));

  out.push(...weakProxyKeys('Global proxy keys', settings.proxyKeys));
  for (const g of groups) out.push(...weakProxyKeys(`Group '${g.name}'`, g.proxyKeys));

  const anyProxyKey =
    storedKeysSchema.parse(settings.proxyKeys).length > 0 ||
    groups.some((g) => storedKeysSchema.parse(g.proxyKeys).length > 0);
  if (!anyProxyKey)
    out.push({
      type: 'NO_PROXY_KEYS',
      severity: 'medium',
      message: 'No proxy keys are configured: the gateway refuses every proxied request.',
      fix: 'Add a global proxy key in Settings, or proxy keys to each group.',
    });

  for (const g of groups) {
    // Aggregates have no keys of their own; their sub-groups are checked on their own.
    if (g.type === 'aggregate') continue;
    const s = keyPool.stats(g.id);
    if (s.total === 0)
      out.push({
        type: 'GROUP_NO_KEYS',
        severity: 'medium',
        message: `Group '${g.name}' has no upstream keys: its requests fail.`,
        fix: `Add upstream keys to group '${g.name}'.`,
      });
    else if (s.invalid === s.total)
      out.push({
        type: 'GROUP_KEYS_INVALID',
        severity: 'high',
        message: `All ${s.total} upstream keys of group '${g.name}' are invalid: its requests fail.`,
        fix: `Check the keys with the provider, then add valid keys to group '${g.name}' or re-validate them.`,
      });
  }

  // Array.prototype.sort is stable: within a severity the order above stays.
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'high' ? -1 : 1));
}
