import type { KeyLimits, KeyPacingUsage } from '@keyway/contracts';
import { dailyResetZone, hasKeyLimits } from '@keyway/contracts';
import type { LimitRule } from '@keyway/limits';
import { keyPacingRules, upstreamKeyCounterId } from '@keyway/limits';
import type { ControlPlaneDeps } from './context';

/** What the usage of a group's keys depends on (a group row's fields as the API shows them). */
export interface PacedGroup {
  channel: string;
  keyLimits: KeyLimits | null;
  /** null = the channel's default zone. */
  dailyResetTimeZone: string | null;
}

const NONE: KeyPacingUsage = { rpmNow: 0, tpmNow: 0, requestsToday: 0 };

/**
 * The pacing usage of a page of a group's upstream keys (API.md "Smarter pool": keys gain `usage` when their group
 * has `keyLimits`), read from the counters the gateways count in (`uk:<keyId>`, across models): requests in the
 * trailing minute, tokens of the requests finished in it, and requests since midnight in the group's zone. An
 * empty map when the group has no `keyLimits`. Zeros without counters, or when they cannot be read: the key list
 * must not fail because Redis is away for a moment (logged once per call, not once per key).
 */
export async function keyPacingUsage(
  deps: Pick<ControlPlaneDeps, 'counters' | 'logger'>,
  group: PacedGroup,
  keyIds: readonly number[],
): Promise<Map<number, KeyPacingUsage>> {
  const out = new Map<number, KeyPacingUsage>();
  if (!hasKeyLimits(group.keyLimits) || keyIds.length === 0) return out;
  const zone = dailyResetZone(group.channel, group.dailyResetTimeZone);
  const rules = keyPacingRules(group.keyLimits, null, zone).total;
  const counters = deps.counters;
  const rule = (name: string) => rules.find((r) => r.name === name);
  const [rpm, tpm, rpd] = [rule('rpm'), rule('tpm'), rule('rpd')];
  if (!counters || !rpm || !tpm || !rpd) {
    for (const id of keyIds) out.set(id, NONE);
    return out;
  }
  let failed: unknown;
  const read = async (id: number, r: LimitRule): Promise<number> => {
    try {
      return Math.max(0, Math.round((await counters.read(upstreamKeyCounterId(id), r)).used));
    } catch (err) {
      failed = err;
      return 0;
    }
  };
  const figures = await Promise.all(
    keyIds.map(async (id) => {
      const [rpmNow, tpmNow, requestsToday] = await Promise.all([
        read(id, rpm),
        read(id, tpm),
        read(id, rpd),
      ]);
      return { rpmNow, tpmNow, requestsToday };
    }),
  );
  if (failed !== undefined)
    deps.logger.warn({ err: failed }, 'could not read the pacing counters of upstream keys');
  keyIds.forEach((id, i) => out.set(id, figures[i] ?? NONE));
  return out;
}
