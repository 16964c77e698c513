// One call for the CLI and the API: read the GPT-Load database (a wrong encryption key throws before anything is
// written), map it, write it, then optionally its logs.
import { applyImportPlan } from './apply';
import type { ApplyDeps, ApplyOutcome, ImportProgress } from './apply';
import { importLogs } from './apply-logs';
import { mapGptLoad } from './map';
import type { ImportPlan } from './plan';
import { readGptLoad } from './read';

/** Options of {@link importGptLoad}. */
export interface ImportGptLoadOptions {
  /** SQLite path, `mysql://` / `postgres://` URL, or GPT-Load's own DATABASE_DSN. */
  from: string;
  /** GPT-Load's ENCRYPTION_KEY, when it ran with one. */
  encryptionKey?: string | undefined;
  dryRun?: boolean;
  /** Also import request logs and hourly stats. */
  logs?: boolean;
  onProgress?: (p: ImportProgress) => void | Promise<void>;
  /** Called with the plan before anything is written (a dry run prints it; a caller registers the proxy keys). */
  onPlan?: (plan: ImportPlan) => void | Promise<void>;
}

/** Imports a GPT-Load 1.4.x database into Keyway; see API.md "GPT-Load import" for the result. */
export async function importGptLoad(deps: ApplyDeps, opts: ImportGptLoadOptions): Promise<ApplyOutcome> {
  const snapshot = await readGptLoad(
    opts.from,
    opts.encryptionKey ? { encryptionKey: opts.encryptionKey } : {},
  );
  const plan = mapGptLoad(snapshot);
  await opts.onPlan?.(plan);
  const outcome = await applyImportPlan(deps, plan, {
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const { counts } = snapshot;
  if (opts.logs && opts.dryRun)
    outcome.result.warnings.push(
      `dry run: ${counts.requestLogs} request-log row(s) and ${counts.hourlyStats} hourly stats row(s) would be read`,
    );
  else if (opts.logs) {
    const aggregates = new Set(plan.groups.filter((g) => g.type === 'aggregate').map((g) => g.sourceId));
    const done = await importLogs(deps, snapshot, outcome.groupIds, opts.onProgress, aggregates);
    outcome.result.warnings.push(
      `imported ${done.logs} request log(s) and ${done.stats} hourly stats row(s)`,
      ...done.warnings,
    );
    if (done.logs + done.stats > 0) outcome.changed = true;
  } else if (counts.requestLogs + counts.hourlyStats > 0)
    outcome.result.warnings.push(
      `${counts.requestLogs} request-log and ${counts.hourlyStats} hourly stats row(s) not imported (import them with --logs / "logs": true)`,
    );
  return outcome;
}
