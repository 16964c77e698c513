import type { KeyStatus } from '@keyway/contracts';
import { markGroupValidated, standardGroups } from '@keyway/db';
import type { JobPayload } from '@keyway/queue';
import { checkKeys, keyPages } from './check-keys';
import type { WorkerDeps } from './deps';
import { toValidationTarget } from './groups';
import type { ValidationSettings } from './settings';
import { isCompleteValidationSettings, isRecheckDue, resolveValidationSettings } from './settings';

/** What a re-check did. */
export interface RecheckSummary {
  /** Standard groups that were due and re-checked. */
  groups: number;
  /** Keys a validation request was sent for. */
  checked: number;
  /** Invalid keys that passed and are active again. */
  restored: number;
  /** Keys that did not pass and stay invalid. */
  failed: number;
  /** Keys not checked: undecryptable, or no longer invalid when their turn came. */
  skipped: number;
}

const INVALID_ONLY: ReadonlySet<KeyStatus> = new Set(['invalid']);

/**
 * Re-validates the invalid keys of every standard group whose `lastValidatedAt` is older than its effective
 * `keyRecheckIntervalMinutes` (or unset), restoring those that pass. Cooling keys are left alone: their cooldown
 * ends by itself. Groups are checked one after another, each with its own concurrency bound.
 */
export async function recheckInvalidKeys(
  deps: WorkerDeps,
  payload: JobPayload<'key-recheck'> = {},
): Promise<RecheckSummary> {
  const now = deps.now ?? Date.now;
  const global: Partial<ValidationSettings> = isCompleteValidationSettings(payload.settings)
    ? payload.settings
    : { ...(await deps.loadSettings()), ...payload.settings };
  const summary: RecheckSummary = { groups: 0, checked: 0, restored: 0, failed: 0, skipped: 0 };
  const rows = await standardGroups(deps.db);
  for (const row of rows) {
    const group = toValidationTarget(row);
    if (!group) {
      deps.logger.warn({ groupId: row.id, channel: row.channel }, 'unknown channel; group not re-checked');
      continue;
    }
    const settings = resolveValidationSettings(global, group.config);
    const startedAt = now();
    if (!isRecheckDue(group.lastValidatedAt, settings.keyRecheckIntervalMinutes, startedAt)) continue;
    const tally = await checkKeys(
      deps,
      group,
      keyPages(deps.db, group.id, INVALID_ONLY),
      settings,
      INVALID_ONLY,
    );
    // The interval counts from when this check started, so re-checks keep a steady rhythm however long it took.
    await markGroupValidated(deps.db, group.id, new Date(startedAt));
    summary.groups++;
    summary.checked += tally.checked;
    summary.restored += tally.restored;
    summary.failed += tally.failed;
    summary.skipped += tally.skipped;
    if (tally.restored > 0)
      deps.alerts?.emit('keys.restored', `group:${group.name}`, {
        group: group.name,
        message: `${tally.restored} invalid key(s) of group '${group.name}' passed the re-check and are active again`,
        details: {
          groupId: group.id,
          restored: tally.restored,
          checked: tally.checked,
          failed: tally.failed,
        },
      });
    if (tally.checked + tally.skipped > 0)
      deps.logger.info(
        { groupId: group.id, group: group.name, ...tally },
        `re-checked ${tally.checked} invalid key(s), restored ${tally.restored}`,
      );
  }
  return summary;
}
