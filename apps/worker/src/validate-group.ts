import type { KeyStatus } from '@keyway/contracts';
import { countKeysInStatuses, groupToValidate } from '@keyway/db';
import type { JobPayload, KeyValidateScope } from '@keyway/queue';
import { PermanentJobError } from '@keyway/queue';
import type { CheckTally } from './check-keys';
import { checkKeys, keyPages } from './check-keys';
import type { WorkerDeps } from './deps';
import { toValidationTarget } from './groups';
import { resolveValidationSettings } from './settings';

/** What an on-demand validation did. */
export interface ValidateSummary extends CheckTally {
  groupId: number;
  /** Keys selected. */
  total: number;
}

/** Key states each scope selects. Disabled keys are never touched: an operator parked them. */
const SCOPES: Record<KeyValidateScope, ReadonlySet<KeyStatus>> = {
  invalid: new Set(['invalid']),
  active: new Set(['active']),
  all: new Set(['active', 'cooling', 'invalid']),
};

/** Progress reports per job: often enough for a progress bar, rare enough not to flood a Redis-backed queue. */
const PROGRESS_STEPS = 100;

/**
 * Validates the keys of one group in the selected states now: keys that pass become active, active or
 * cooling keys that fail through their own fault become invalid. Reports progress as keys are checked.
 */
export async function validateGroupKeys(
  deps: WorkerDeps,
  payload: JobPayload<'key-validate'>,
  progress: (processed: number, total: number) => Promise<void> = () => Promise.resolve(),
): Promise<ValidateSummary> {
  const row = await groupToValidate(deps.db, payload.groupId);
  if (!row) throw new PermanentJobError(`group ${payload.groupId} not found`);
  const group = toValidationTarget(row);
  if (!group) throw new PermanentJobError(`group ${payload.groupId} has an unknown channel '${row.channel}'`);
  if (group.type !== 'standard')
    throw new PermanentJobError(`group ${payload.groupId} is an aggregate group: it has no keys of its own`);
  const states = SCOPES[payload.status];
  const total = await countKeysInStatuses(deps.db, group.id, states);
  await progress(0, total);
  const settings = resolveValidationSettings(await deps.loadSettings(), group.config);
  const step = Math.max(1, Math.ceil(total / PROGRESS_STEPS));
  let processed = 0;
  const tally = await checkKeys(
    deps,
    group,
    keyPages(deps.db, group.id, states),
    settings,
    states,
    async (n) => {
      processed = n;
      if (n % step === 0 && n < total) await progress(n, total);
    },
  );
  // Keys added or removed while this ran may make the count differ from the first one: end at what was done.
  await progress(processed, Math.max(total, processed));
  deps.logger.info(
    { groupId: group.id, group: group.name, scope: payload.status, ...tally },
    'validated keys',
  );
  return { groupId: group.id, total, ...tally };
}
