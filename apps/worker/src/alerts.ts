import type { AlertEvent, UsageBatch } from '@keyway/contracts';
import { hasCostLimit } from '@keyway/contracts';
import type { AlertSink, AlertStore, AlertTarget, DeliveryOptions, DispatchSummary } from '@keyway/alerts';
import { budgetCrossings, createAlertDispatcher, keyChangeEvent } from '@keyway/alerts';
import { scrubKeyMaterial } from '@keyway/core';
import type { DbClient } from '@keyway/db';
import {
  alertKeyLabels,
  alertSentSince,
  countSuppressedSinceSent,
  insertAlertHistory,
  listAccessKeys,
  listAlertChannels,
  readAccessKeyUsage,
  readSettings,
  usageOf,
} from '@keyway/db';
import type { JobPayload } from '@keyway/queue';
import { isPermanentJobError } from '@keyway/queue';
import type { WorkerDeps } from './deps';

/** The alert store on the database: channels opened with the key cipher, history and de-duplication by query. */
export function dbAlertStore(deps: Pick<WorkerDeps, 'db' | 'keyCipher' | 'logger'>): AlertStore {
  const { db } = deps;
  return {
    async channelsFor(event: AlertEvent): Promise<AlertTarget[]> {
      const rows = (await listAlertChannels(db)).filter((c) => c.enabled && c.events.includes(event));
      return rows.flatMap((c) => {
        try {
          const url = deps.keyCipher.open(c.urlSealed);
          const secret = c.secretSealed === null ? null : deps.keyCipher.open(c.secretSealed);
          return [{ id: c.id, name: c.name, type: c.type, url, secret, chatId: c.chatId }];
        } catch {
          // Sealed with another ENCRYPTION_KEY: nothing to send it with, and nothing of it may be logged.
          deps.logger.warn({ channelId: c.id }, 'alert channel cannot be opened with this ENCRYPTION_KEY');
          return [];
        }
      });
    },
    dedupMinutes: async () => (await readSettings(db, ['alertDedupMinutes'])).alertDedupMinutes,
    sentSince: (q) => alertSentSince(db, q),
    suppressedSinceSent: (q) => countSuppressedSinceSent(db, q),
    record: (row) => insertAlertHistory(db, row),
  };
}

/** The `alert` job's handler: de-duplicates and delivers one alert to every subscribed channel. */
export function createAlertProcessor(
  deps: Pick<WorkerDeps, 'db' | 'keyCipher' | 'logger' | 'now'>,
  delivery?: DeliveryOptions,
): (payload: JobPayload<'alert'>) => Promise<DispatchSummary> {
  return createAlertDispatcher({
    store: dbAlertStore(deps),
    logger: deps.logger,
    ...(delivery ? { delivery } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/** A key state change as the pool reports it (the fields an alert needs). */
export interface KeyChangeForAlert {
  keyId: number;
  groupId: number;
  status: string;
  cause: string;
  lastError: string | null;
}

/**
 * Raises `key.invalid` / `key.blacklisted` for key changes (see `keyChangeEvent`), naming the key by its masked
 * value and group; never throws (alerts must not fail the persisting of key states).
 */
export async function alertKeyChanges(
  deps: { db: DbClient; alerts: AlertSink; logger: WorkerDeps['logger'] },
  changes: readonly KeyChangeForAlert[],
): Promise<void> {
  const raising = changes.flatMap((c) => {
    const event = keyChangeEvent(c);
    return event ? [{ c, event }] : [];
  });
  if (raising.length === 0) return;
  try {
    const labels = await alertKeyLabels(
      deps.db,
      raising.map((r) => r.c.keyId),
    );
    for (const { c, event } of raising) {
      const label = labels.get(c.keyId);
      if (!label) continue;
      const why = c.lastError ? `: ${scrubKeyMaterial(c.lastError).slice(0, 300)}` : '';
      const what =
        event === 'key.invalid' ? 'was invalidated' : 'reached the failure threshold and was blacklisted';
      deps.alerts.emit(event, `key:${c.keyId}`, {
        group: label.groupName,
        key: label.keyMasked,
        message: `Key ${label.keyMasked} of group '${label.groupName}' ${what}${why}`,
        details: { keyId: c.keyId, groupId: c.groupId, cause: c.cause },
      });
    }
  } catch (err) {
    deps.logger.warn({ err }, 'could not raise key alerts');
  }
}

const hasBudget = (l: Parameters<typeof hasCostLimit>[0]) =>
  hasCostLimit(l) || l.rpd !== null || l.tokensPerDay !== null || l.tokensPerMonth !== null;

/**
 * Raises `budget.warning` (80%) and `budget.exceeded` (100%) for the access-key budgets a just-applied usage
 * batch crossed. Each crossing is raised by the one batch that made it (usage before it was under the mark), so
 * nothing needs remembering across batches. Never throws.
 */
export async function alertBudgetCrossings(
  deps: { db: DbClient; alerts: AlertSink; logger: WorkerDeps['logger']; now?: () => number },
  batch: UsageBatch,
): Promise<void> {
  const added = batch.accessKeys.filter((a) => a.requests > 0 || a.tokens > 0 || a.costUsd > 0);
  if (added.length === 0) return;
  try {
    const ids = new Set(added.map((a) => a.id));
    const keys = (await listAccessKeys(deps.db)).filter((k) => ids.has(k.id) && hasBudget(k.limits));
    if (keys.length === 0) return;
    const usage = await readAccessKeyUsage(deps.db, new Date((deps.now ?? Date.now)()));
    for (const k of keys) {
      const a = added.find((x) => x.id === k.id);
      if (!a) continue;
      for (const x of budgetCrossings(k.limits, usageOf(usage, k.id), a)) {
        const share = x.event === 'budget.exceeded' ? '100%' : '80%';
        deps.alerts.emit(x.event, `access-key:${k.id}:${x.limit}`, {
          accessKey: k.name,
          message: `Access key '${k.name}' used ${share} of its ${x.limit} budget (${round(x.used)} of ${x.max})`,
          details: { accessKeyId: k.id, limit: x.limit, used: round(x.used), max: x.max },
        });
      }
    }
  } catch (err) {
    deps.logger.warn({ err }, 'could not check access-key budgets for alerts');
  }
}

const round = (n: number) => Math.round(n * 10_000) / 10_000;

/** What {@link announceLongTask} needs to know about the task. */
export interface LongTask<R> {
  alerts: AlertSink;
  /** Tasks running at least this long raise `task.finished`. */
  longTaskMs: number;
  now: () => number;
  taskId: string;
  type: string;
  groupId: number;
  /** The result in a few words (`1000 added, 3 ignored`). */
  describe: (result: R) => string;
}

/**
 * Runs a task (a key import or validation) and raises `task.finished` when it took at least `longTaskMs`: the
 * operator who started a long one has usually stopped watching it. A failure that will not be retried counts as
 * finished too.
 */
export async function announceLongTask<R>(t: LongTask<R>, run: () => Promise<R>): Promise<R> {
  const started = t.now();
  const emit = (outcome: string, failed: boolean) => {
    const ms = t.now() - started;
    if (ms < t.longTaskMs) return;
    t.alerts.emit('task.finished', `task:${t.taskId}`, {
      message: `Task ${t.type} of group #${t.groupId} ${failed ? 'failed' : 'finished'} after ${Math.round(ms / 1000)} s: ${outcome}`,
      details: { taskId: t.taskId, type: t.type, groupId: t.groupId, durationMs: ms, failed },
    });
  };
  try {
    const result = await run();
    emit(t.describe(result), false);
    return result;
  } catch (err) {
    if (isPermanentJobError(err)) emit(err.message, true);
    throw err;
  }
}
