import type { AlertEvent, AlertInput, AlertPayload } from '@keyway/contracts';
import { ALERT_SEVERITY } from '@keyway/contracts';
import type { LogPort } from '@keyway/core';
import type { DeliveryOptions, DeliveryResult } from './deliver';
import { deliverAlert } from './deliver';
import type { AlertTarget } from './types';

/** One history row to record. */
export interface AlertRecord {
  time: Date;
  channelId: number;
  channelName: string;
  event: AlertEvent;
  severity: AlertPayload['severity'];
  subject: string;
  message: string;
  status: 'sent' | 'failed' | 'suppressed';
  suppressed: number;
  statusCode: number | null;
  error: string | null;
  details: Record<string, unknown>;
}

/** Where channels, the de-duplication window and the history live (the database's repositories). */
export interface AlertStore {
  /** Enabled channels subscribed to `event`, url and secret opened. */
  channelsFor(event: AlertEvent): Promise<AlertTarget[]>;
  /** `alertDedupMinutes`. */
  dedupMinutes(): Promise<number>;
  /** Whether this channel was sent this event for this subject at or after `since`. */
  sentSince(q: { channelId: number; event: AlertEvent; subject: string; since: Date }): Promise<boolean>;
  /** Alerts of this channel, event and subject suppressed since the last one sent. */
  suppressedSinceSent(q: { channelId: number; event: AlertEvent; subject: string }): Promise<number>;
  record(row: AlertRecord): Promise<void>;
}

/** Collaborators of {@link createAlertDispatcher}. */
export interface AlertDispatcherDeps {
  store: AlertStore;
  delivery?: DeliveryOptions;
  /** Replaces {@link deliverAlert} (tests of the digest without sockets are not wanted; kept for composition). */
  deliver?: (target: AlertTarget, payload: AlertPayload) => Promise<DeliveryResult>;
  logger?: Pick<LogPort, 'warn'>;
  now?: () => number;
}

/** What dispatching one alert did, per channel. */
export interface DispatchSummary {
  sent: number;
  failed: number;
  suppressed: number;
}

/**
 * Delivers alerts to every channel subscribed to their event, de-duplicated per (channel, event, subject): within
 * `alertDedupMinutes` of the last one sent, an alert is recorded as `suppressed`; the next one sent carries how
 * many were (`details.suppressed`, and the history row's `suppressed`). Alerts of one subject are handled one at
 * a time in this process, so two arriving together cannot both pass the check.
 */
export function createAlertDispatcher(
  deps: AlertDispatcherDeps,
): (input: AlertInput) => Promise<DispatchSummary> {
  const now = deps.now ?? Date.now;
  const deliver =
    deps.deliver ??
    ((target: AlertTarget, payload: AlertPayload) => deliverAlert(target, payload, deps.delivery));
  const chains = new Map<string, Promise<unknown>>();

  const toChannel = async (target: AlertTarget, input: AlertInput, windowMs: number) => {
    const { store } = deps;
    const q = { channelId: target.id, event: input.event, subject: input.subject };
    const base = {
      channelId: target.id,
      channelName: target.name,
      event: input.event,
      severity: ALERT_SEVERITY[input.event],
      subject: input.subject,
      message: input.message,
      details: input.details,
    };
    if (await store.sentSince({ ...q, since: new Date(now() - windowMs) })) {
      await store.record({
        ...base,
        time: new Date(now()),
        status: 'suppressed',
        suppressed: 0,
        statusCode: null,
        error: null,
      });
      return 'suppressed' as const;
    }
    const suppressed = await store.suppressedSinceSent(q);
    const { subject: _subject, ...fields } = input;
    const payload: AlertPayload = {
      ...fields,
      severity: ALERT_SEVERITY[input.event],
      message:
        suppressed > 0
          ? `${input.message} (${suppressed} more suppressed since the last alert)`
          : input.message,
      details: { ...input.details, suppressed },
    };
    const r = await deliver(target, payload);
    await store.record({
      ...base,
      time: new Date(now()),
      status: r.delivered ? 'sent' : 'failed',
      suppressed,
      statusCode: r.statusCode,
      error: r.error,
    });
    if (!r.delivered)
      deps.logger?.warn(
        { channelId: target.id, event: input.event, statusCode: r.statusCode, error: r.error },
        'alert not delivered',
      );
    return r.delivered ? ('sent' as const) : ('failed' as const);
  };

  const dispatch = async (input: AlertInput): Promise<DispatchSummary> => {
    const channels = await deps.store.channelsFor(input.event);
    const summary: DispatchSummary = { sent: 0, failed: 0, suppressed: 0 };
    if (channels.length === 0) return summary;
    const windowMs = (await deps.store.dedupMinutes()) * 60_000;
    const outcomes = await Promise.all(channels.map((c) => toChannel(c, input, windowMs)));
    for (const o of outcomes) summary[o]++;
    return summary;
  };

  return (input) => {
    const id = `${input.event}|${input.subject}`;
    const run = (chains.get(id) ?? Promise.resolve()).catch(() => undefined).then(() => dispatch(input));
    chains.set(id, run);
    void run
      .finally(() => {
        if (chains.get(id) === run) chains.delete(id);
      })
      .catch(() => undefined);
    return run;
  };
}
