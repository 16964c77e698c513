import type { AlertInput } from '@keyway/contracts';
import type { LogPort } from '@keyway/core';
import type { AlertSink } from './types';

/** Options of {@link createAlertEmitter}. */
export interface AlertEmitterOptions {
  /** Hands an alert on (queues an `alert` job); its rejection is logged, never thrown. */
  send: (input: AlertInput) => Promise<unknown>;
  logger?: Pick<LogPort, 'warn'>;
  /**
   * The same event for the same subject is passed on at most once in this many ms (default 5 s): an exhausted
   * group under load hits the emit point on every request, and the queue must not take one job per request.
   * De-duplication proper (`alertDedupMinutes`, with the digest) happens where alerts are delivered.
   */
  minIntervalMs?: number;
  /** Subjects remembered for the interval (default 10,000; forgotten all at once past it). */
  maxSubjects?: number;
  now?: () => number;
}

/**
 * An {@link AlertSink} that passes alerts on asynchronously, fire-and-forget, locally rate-limited per (event,
 * subject). Safe on the gateway's hot path: a map lookup, and the send deferred to a microtask.
 */
export function createAlertEmitter(o: AlertEmitterOptions): AlertSink {
  const minInterval = o.minIntervalMs ?? 5000;
  const maxSubjects = o.maxSubjects ?? 10_000;
  const now = o.now ?? Date.now;
  const lastSent = new Map<string, number>();
  return {
    emit(event, subject, data) {
      try {
        const t = now();
        const id = `${event}|${subject}`;
        const last = lastSent.get(id);
        if (last !== undefined && t - last < minInterval) return;
        if (lastSent.size >= maxSubjects) lastSent.clear();
        lastSent.set(id, t);
        const input: AlertInput = {
          ...data,
          event,
          subject: subject.slice(0, 255),
          time: new Date(t).toISOString(),
          details: data.details ?? {},
        };
        void Promise.resolve()
          .then(() => o.send(input))
          .catch((err: unknown) => o.logger?.warn({ err, event, subject }, 'could not queue an alert'));
      } catch (err) {
        // Never the caller's problem (a throwing clock, a bad subject): the alert is lost, the request is not.
        o.logger?.warn({ err, event }, 'could not emit an alert');
      }
    },
  };
}
