import type { AccessKeySnapshot } from '@keyway/contracts';
import { NO_LIMITS } from '@keyway/contracts';
import { hashProxyKey } from '@keyway/keypool';

/** An enabled access key without limits or model globs, scoped to `groups` (ids, in the order it tries them). */
export function scopedAccessKey(
  id: number,
  name: string,
  secret: string,
  groups: number[],
): AccessKeySnapshot {
  return {
    id,
    name,
    hash: hashProxyKey(secret),
    groups,
    models: [],
    limits: { ...NO_LIMITS },
    expiresAt: null,
    enabled: true,
  };
}
