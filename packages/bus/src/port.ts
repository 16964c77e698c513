import type { Payload, Subject } from './subjects';

/** Stops a subscription: no message is delivered to its handler afterwards, not even one already queued. */
export type Unsubscribe = () => void;

/** Receives the payload of one message; a throw or rejection is logged and counted, never fatal. */
export type Handler<S extends Subject> = (payload: Payload<S>) => void | Promise<void>;

/** Connection state as reported by {@link Bus.onStatus}. */
export interface BusStatus {
  connected: boolean;
  /** Why the state changed (e.g. the server that was lost), when known. */
  reason?: string;
}

/** Counters of one bus instance, for metrics and tests. */
export interface BusStats {
  /** Messages published through this bus. */
  published: number;
  /** Messages handed to handlers (one per subscriber). */
  delivered: number;
  /** Incoming messages dropped because they were not JSON or did not match the subject's schema. */
  malformed: number;
  /** Handler calls that threw or rejected. */
  handlerErrors: number;
  /** Publishes dropped because too many piled up while disconnected. */
  unsent: number;
}

/**
 * The event-bus port: at-most-once, fire-and-forget change notifications between Keyway replicas (config
 * reloads, key-state changes). Payloads are validated on publish (a bad one rejects) and on receipt (a bad one
 * is dropped and counted). Each subscription runs its handler for one message at a time, in arrival order, so
 * messages of one publisher are handled in the order they were published.
 */
export interface Bus {
  /** Sends `payload` on `subject`; resolves once the transport has taken it (not once it was delivered). */
  publish<S extends Subject>(subject: S, payload: Payload<S>): Promise<void>;
  /** Calls `handler` for every valid message on `subject` under this bus's prefix until unsubscribed. */
  subscribe<S extends Subject>(subject: S, handler: Handler<S>): Unsubscribe;
  /**
   * Resolves once earlier subscribes and publishes have reached the transport: subscribe, `flush`, then load
   * the state the events refer to, so no change slips between the load and the subscription.
   */
  flush(): Promise<void>;
  /** Calls `listener` right away with the current state, then on every change; returns its remover. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  /** A snapshot of this bus's counters. */
  stats(): BusStats;
  /** Delivers what is in flight, stops every subscription and disconnects; later publishes reject. */
  close(): Promise<void>;
}
