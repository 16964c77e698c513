import type { AlertChannelType, AlertEvent, AlertInput, AlertPayload } from '@keyway/contracts';

/** A channel as delivery needs it: `url` and `secret` opened (plaintext). Never log or return one. */
export interface AlertTarget {
  id: number;
  name: string;
  type: AlertChannelType;
  url: string;
  secret: string | null;
  chatId: string | null;
}

/** The HTTP request that posts one alert to one channel. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How one platform wants an alert: the request to send, and how it says it refused one. */
export interface AlertFormatter {
  /** The request posting `payload`; `now` (epoch ms) signs it where the platform signs with a timestamp. */
  request(target: AlertTarget, payload: AlertPayload, now: number): OutgoingRequest;
  /**
   * Why an answer does not mean "posted" (several platforms answer 200 with an error code in the body), or null.
   * `body` is at most a few KB of the answer.
   */
  rejection(statusCode: number, body: string): string | null;
}

/** What a producer gives besides the event and the subject. */
export type AlertData = Omit<AlertInput, 'event' | 'subject' | 'time' | 'details'> & {
  details?: Record<string, unknown>;
};

/**
 * Where producers report alerts. `emit` never blocks and never throws: delivery happens elsewhere (the worker),
 * and an alert that cannot be queued is logged and dropped rather than failing the caller.
 */
export interface AlertSink {
  emit(event: AlertEvent, subject: string, data: AlertData): void;
}

/** A sink that drops everything (alerts not wired). */
export const noAlerts: AlertSink = { emit: () => undefined };
