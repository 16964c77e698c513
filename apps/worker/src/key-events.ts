import type { KeyStateRow } from '@keyway/db';
import { latestKeyStates, writeKeyStates } from '@keyway/db';
import type { JobPayload } from '@keyway/queue';
import { alertKeyChanges } from './alerts';
import type { WorkerDeps } from './deps';

/** What a `key-events` job did. */
export interface KeyEventsSummary {
  /** Keys whose stored health was updated. */
  written: number;
  /** Changes not written: a later change of the same key came in the same batch or was written before. */
  superseded: number;
  /** Keys that no longer exist (deleted since the change): not an error. */
  missing: number;
}

/** Options of {@link createKeyEventsProcessor}. */
export interface KeyEventsOptions {
  /** Keys whose latest written change time is remembered (default 100,000; the oldest are forgotten first). */
  rememberedKeys?: number;
}

/**
 * One change as queued. `modelCooling` is carried when the gateway sent it; a change without it (an older
 * gateway) leaves the stored model coolings alone rather than clearing them.
 */
type KeyChange = JobPayload<'key-events'>['changes'][number] & Pick<KeyStateRow, 'modelCooling'>;

function toRow(c: KeyChange): KeyStateRow {
  return {
    keyId: c.keyId,
    status: c.status,
    failureCount: c.failureCount,
    cooldownUntil: c.cooldownUntil,
    lastError: c.lastError,
    ...(c.modelCooling === undefined ? {} : { modelCooling: c.modelCooling }),
    at: c.at,
  };
}

/** Each key's latest change (by `at`): only where a key ended up raises an alert. */
function latestPerKey(changes: readonly KeyChange[]): KeyChange[] {
  const latest = new Map<number, KeyChange>();
  for (const c of changes) {
    const seen = latest.get(c.keyId);
    if (!seen || c.at >= seen.at) latest.set(c.keyId, c);
  }
  return [...latest.values()];
}

/**
 * Persists key health changes sent by the gateways. Changes arrive out of order (several gateways, retried
 * jobs), so the latest `at` of a key wins: within a batch, and against every change this process wrote before,
 * whose times it remembers. Run it with concurrency 1, so that memory is checked and updated one job at a time.
 *
 * Limitation: api_keys has no column for the time of the change its state comes from, so another worker
 * process's writes are not known here: a change delivered late to one worker can overwrite a newer one another
 * worker wrote. The next change of that key corrects it; a `stateChangedAt` column would close the gap. Times
 * come from the gateways' clocks, which are assumed to agree to within the spacing of changes to one key.
 */
export function createKeyEventsProcessor(
  deps: Pick<WorkerDeps, 'db' | 'alerts' | 'logger'>,
  options: KeyEventsOptions = {},
): (payload: JobPayload<'key-events'>) => Promise<KeyEventsSummary> {
  const limit = Math.max(1, options.rememberedKeys ?? 100_000);
  const written = new Map<number, number>();
  const remember = (keyId: number, at: number): void => {
    written.delete(keyId);
    written.set(keyId, at);
    if (written.size > limit) {
      const oldest = written.keys().next();
      if (!oldest.done) written.delete(oldest.value);
    }
  };
  return async ({ changes }) => {
    const fresh = changes.filter((c) => c.at >= (written.get(c.keyId) ?? -Infinity));
    const rows = latestKeyStates(fresh.map(toRow));
    const updated = await writeKeyStates(deps.db, rows);
    for (const r of rows) remember(r.keyId, r.at ?? 0);
    if (deps.alerts) await alertKeyChanges({ ...deps, alerts: deps.alerts }, latestPerKey(fresh));
    return { written: updated, superseded: changes.length - rows.length, missing: rows.length - updated };
  };
}
