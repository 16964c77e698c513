/** In-process bus: standalone mode (one process, no NATS) and tests. */
import type { LogPort } from '@keyway/core';
import {
  createDelivery,
  emptyStats,
  silentLogger,
  StatusBroadcaster,
  validateOutgoing,
  type Delivery,
} from './dispatch';
import type { Bus, BusStats, BusStatus, Handler, Unsubscribe } from './port';
import { DEFAULT_PREFIX, subjectName, type Payload, type Subject } from './subjects';

/**
 * The shared "wire" of in-process buses. Buses built on the same hub see each other's messages (like replicas
 * on one NATS server); each bus without an explicit hub gets a private one.
 */
export class MemoryHub {
  private readonly routes = new Map<string, Set<Delivery>>();

  /** Queues `data` for every current subscriber of the wire subject `name`, without validating it. */
  send(name: string, data: unknown): void {
    const targets = [...(this.routes.get(name) ?? [])];
    if (targets.length === 0) return;
    // Asynchronous so that a handler which publishes never runs inside the publisher's call stack; each
    // subscriber gets its own copy, as it would from a JSON transport.
    queueMicrotask(() => {
      for (const target of targets) target.push(structuredClone(data));
    });
  }

  /** Adds a subscriber for the wire subject `name`; returns its remover. */
  attach(name: string, delivery: Delivery): () => void {
    let set = this.routes.get(name);
    if (!set) {
      set = new Set();
      this.routes.set(name, set);
    }
    set.add(delivery);
    return () => {
      set.delete(delivery);
      if (set.size === 0) this.routes.delete(name);
    };
  }
}

/** Options of {@link MemoryBus}. */
export interface MemoryBusOptions {
  /** Subject prefix (default `kw`). */
  prefix?: string;
  /** The hub to share with other buses (default: a private one). */
  hub?: MemoryHub;
  logger?: LogPort;
}

/** A {@link Bus} fanning messages out in-process through a {@link MemoryHub}. */
export class MemoryBus implements Bus {
  readonly prefix: string;
  readonly hub: MemoryHub;
  private readonly logger: LogPort;
  private readonly counters = emptyStats();
  private readonly status: StatusBroadcaster;
  private readonly subscriptions = new Map<Delivery, () => void>();
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    subjectName(this.prefix, 'config.changed'); // validates the prefix up front
    this.hub = options.hub ?? new MemoryHub();
    this.logger = options.logger ?? silentLogger;
    this.status = new StatusBroadcaster({ connected: true }, this.logger);
  }

  publish<S extends Subject>(subject: S, payload: Payload<S>): Promise<void> {
    try {
      if (this.closed) throw new Error('bus is closed');
      const valid = validateOutgoing(subject, payload);
      this.counters.published += 1;
      this.hub.send(subjectName(this.prefix, subject), valid);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  subscribe<S extends Subject>(subject: S, handler: Handler<S>): Unsubscribe {
    if (this.closed) throw new Error('bus is closed');
    const delivery = createDelivery(subject, handler, this.counters, this.logger);
    const detach = this.hub.attach(subjectName(this.prefix, subject), delivery);
    const unsubscribe = (): void => {
      delivery.stop();
      detach();
      this.subscriptions.delete(delivery);
    };
    this.subscriptions.set(delivery, unsubscribe);
    return unsubscribe;
  }

  flush(): Promise<void> {
    // Subscribing and publishing take effect synchronously on the hub.
    return Promise.resolve();
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    return this.status.add(listener);
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let already-published messages reach their queues, then let the handlers finish them.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    await Promise.all([...this.subscriptions.keys()].map((delivery) => delivery.idle()));
    for (const unsubscribe of [...this.subscriptions.values()]) unsubscribe();
    this.status.set({ connected: false, reason: 'closed' });
  }
}
