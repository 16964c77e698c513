/** Validation, counting and per-subscription serial delivery shared by the bus adapters. */
import type { LogPort } from '@keyway/core';
import type { BusStats, BusStatus, Handler } from './port';
import { PAYLOAD_SCHEMAS, type Payload, type Subject } from './subjects';

/** A logger that discards everything, for when the caller gives none. */
export const silentLogger: LogPort = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Fresh zeroed counters. */
export function emptyStats(): BusStats {
  return { published: 0, delivered: 0, malformed: 0, handlerErrors: 0, unsent: 0 };
}

/** Throws a descriptive error unless `payload` matches `subject`'s schema; returns the parsed payload. */
export function validateOutgoing<S extends Subject>(subject: S, payload: Payload<S>): Payload<S> {
  const parsed = PAYLOAD_SCHEMAS[subject].safeParse(payload);
  if (!parsed.success) {
    throw new Error(`invalid ${subject} payload: ${parsed.error.message}`, { cause: parsed.error });
  }
  return parsed.data as Payload<S>;
}

/** One subscription's delivery queue. */
export interface Delivery {
  /** Validates an incoming (already decoded) message and queues it for the handler. */
  push(data: unknown): void;
  /** Counts and logs a message that could not even be decoded. */
  reject(reason: string): void;
  /** Drops everything still queued and ignores later pushes. */
  stop(): void;
  /** Resolves once every message queued so far has been handled. */
  idle(): Promise<void>;
}

/**
 * Runs `handler` for one message at a time: an async handler finishes before the next message starts, so a
 * replica applying key-state changes cannot have an older change overtake a newer one.
 */
export function createDelivery<S extends Subject>(
  subject: S,
  handler: Handler<S>,
  stats: BusStats,
  logger: LogPort,
): Delivery {
  let active = true;
  let chain: Promise<void> = Promise.resolve();
  const schema = PAYLOAD_SCHEMAS[subject];
  return {
    push(data) {
      if (!active) return;
      const parsed = schema.safeParse(data);
      if (!parsed.success) {
        stats.malformed += 1;
        logger.warn({ subject, issues: parsed.error.issues }, 'bus: dropped a malformed message');
        return;
      }
      const payload = parsed.data as Payload<S>;
      chain = chain
        .then(async () => {
          if (!active) return;
          stats.delivered += 1;
          await handler(payload);
        })
        .catch((error: unknown) => {
          stats.handlerErrors += 1;
          logger.error({ subject, err: error }, 'bus: handler failed');
        });
    },
    reject(reason) {
      if (!active) return;
      stats.malformed += 1;
      logger.warn({ subject, reason }, 'bus: dropped an undecodable message');
    },
    stop() {
      active = false;
    },
    idle() {
      return chain;
    },
  };
}

/** Status listeners with the current state, shared by the adapters. */
export class StatusBroadcaster {
  private readonly listeners = new Set<(status: BusStatus) => void>();
  private current: BusStatus;

  constructor(
    initial: BusStatus,
    private readonly logger: LogPort,
  ) {
    this.current = initial;
  }

  /** Registers `listener`, calling it at once with the current state. */
  add(listener: (status: BusStatus) => void): () => void {
    this.listeners.add(listener);
    this.call(listener, this.current);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Records and announces a new state. */
  set(status: BusStatus): void {
    this.current = status;
    for (const listener of [...this.listeners]) this.call(listener, status);
  }

  private call(listener: (status: BusStatus) => void, status: BusStatus): void {
    try {
      listener(status);
    } catch (error) {
      // A broken listener must not stop the others nor the connection's status loop.
      this.logger.error({ err: error }, 'bus: status listener failed');
    }
  }
}
