/** The bus over NATS core pub/sub: what replicas use to tell each other about config and key changes. */
import { connect, DebugEvents, Events, JSONCodec, type NatsConnection } from 'nats';
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

/** Options of {@link NatsBus.connect}. */
export interface NatsBusOptions {
  /** Server URL(s), comma-separated for a cluster, e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** Subject prefix (default `kw`). */
  prefix?: string;
  /** Connection name shown by the server's monitoring (e.g. `keyway-gateway`). */
  name?: string;
  logger?: LogPort;
  /** Wait between reconnect attempts (default 500 ms). */
  reconnectTimeWaitMs?: number;
  /** How long `close()` lets the drain run before it cuts the connection (default 5000 ms). */
  closeTimeoutMs?: number;
  /** Publishes kept while disconnected, oldest dropped beyond it (default 10 000). */
  maxBuffered?: number;
}

const codec = JSONCodec<unknown>();

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A {@link Bus} over NATS core (no JetStream: events are hints to reload, so a replica that misses one while
 * away catches up from the database when it reconnects, and nothing needs persisting).
 *
 * Reconnects forever (every `reconnectTimeWaitMs`), logging and reporting each disconnect and reconnect.
 * Subscriptions are restored on reconnect by the client. Publishes made while disconnected are buffered in
 * memory by this class (up to `maxBuffered`, oldest dropped and counted in `stats().unsent`) and sent in order
 * once the connection is back: the `nats` 2.29 client's own outbound buffer cannot be relied on for that, as it
 * is reset on every reconnect attempt. `publish` resolves as soon as the message is handed over, so it does not
 * prove delivery; a message still buffered when the process exits is lost, and one published in the instant
 * between the socket dropping and the client reporting it may be lost too.
 */
export class NatsBus implements Bus {
  private readonly counters = emptyStats();
  private readonly status: StatusBroadcaster;
  private readonly subscriptions = new Map<Delivery, () => void>();
  private closing: Promise<void> | undefined;
  /** Whether the last status event said connected; publishes are buffered here while it is false. */
  private connected = true;
  private readonly buffered: { subject: string; data: Uint8Array }[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    readonly prefix: string,
    private readonly logger: LogPort,
    private readonly closeTimeoutMs: number,
    private readonly maxBuffered: number,
  ) {
    this.status = new StatusBroadcaster({ connected: true }, logger);
    void this.watchStatus();
    void nc.closed().then((error) => {
      if (error) logger.error({ err: error }, 'bus: NATS connection closed with an error');
      this.status.set({ connected: false, reason: error ? `closed: ${describe(error)}` : 'closed' });
    });
  }

  /** Connects to NATS; rejects if no server answers at first (reconnects are automatic only afterwards). */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    subjectName(prefix, 'config.changed'); // validates the prefix before any network work
    const logger = options.logger ?? silentLogger;
    const nc = await connect({
      servers: options.url.split(',').map((server) => server.trim()),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 500,
    });
    logger.info({ server: nc.getServer(), prefix }, 'bus: connected to NATS');
    return new NatsBus(nc, prefix, logger, options.closeTimeoutMs ?? 5000, options.maxBuffered ?? 10_000);
  }

  private async watchStatus(): Promise<void> {
    for await (const event of this.nc.status()) {
      const server = typeof event.data === 'string' ? event.data : undefined;
      switch (event.type) {
        case Events.Disconnect:
          this.connected = false;
          this.logger.warn({ server }, 'bus: disconnected from NATS, reconnecting');
          this.status.set({ connected: false, reason: `disconnected from ${server ?? 'server'}` });
          break;
        case Events.Reconnect:
          this.logger.info({ server, buffered: this.buffered.length }, 'bus: reconnected to NATS');
          this.sendBuffered();
          this.status.set({ connected: true, reason: `reconnected to ${server ?? 'server'}` });
          break;
        case Events.Error:
          this.logger.error({ data: event.data }, 'bus: NATS reported an error');
          break;
        case Events.LDM:
          this.logger.warn({ server }, 'bus: NATS server is entering lame duck mode');
          break;
        case DebugEvents.StaleConnection:
          this.logger.warn({ server }, 'bus: NATS connection went stale');
          break;
        default:
          break;
      }
    }
  }

  publish<S extends Subject>(subject: S, payload: Payload<S>): Promise<void> {
    try {
      if (this.closing) throw new Error('bus is closed');
      const valid = validateOutgoing(subject, payload);
      const wire = subjectName(this.prefix, subject);
      const data = codec.encode(valid);
      if (this.connected) this.nc.publish(wire, data);
      else this.buffer(wire, data);
      this.counters.published += 1;
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private buffer(subject: string, data: Uint8Array): void {
    this.buffered.push({ subject, data });
    if (this.buffered.length > this.maxBuffered) {
      this.buffered.shift();
      this.counters.unsent += 1;
      this.logger.warn(
        { max: this.maxBuffered },
        'bus: disconnected-publish buffer full, dropped the oldest',
      );
    }
  }

  private sendBuffered(): void {
    // Sent before `connected` flips back so that later publishes cannot overtake the buffered ones.
    for (const { subject, data } of this.buffered.splice(0)) this.nc.publish(subject, data);
    this.connected = true;
  }

  subscribe<S extends Subject>(subject: S, handler: Handler<S>): Unsubscribe {
    if (this.closing) throw new Error('bus is closed');
    const delivery = createDelivery(subject, handler, this.counters, this.logger);
    const subscription = this.nc.subscribe(subjectName(this.prefix, subject), {
      callback: (error, message) => {
        if (error) {
          this.logger.error({ subject, err: error }, 'bus: subscription error');
          return;
        }
        let data: unknown;
        try {
          data = codec.decode(message.data);
        } catch (decodeError) {
          delivery.reject(`not JSON: ${describe(decodeError)}`);
          return;
        }
        delivery.push(data);
      },
    });
    const unsubscribe = (): void => {
      delivery.stop();
      this.subscriptions.delete(delivery);
      if (!subscription.isClosed()) subscription.unsubscribe();
    };
    this.subscriptions.set(delivery, unsubscribe);
    return unsubscribe;
  }

  async flush(): Promise<void> {
    // A flush started while disconnected is rejected by the client's next reconnect attempt, so wait for the
    // connection (which re-sends subscriptions and buffered publishes) and retry until one round trip succeeds.
    for (;;) {
      if (this.closing || this.nc.isClosed()) throw new Error('bus is closed');
      if (!this.connected) {
        await this.whenConnected();
        continue;
      }
      try {
        await this.nc.flush();
        return;
      } catch (error) {
        if (this.closing || this.nc.isClosed()) throw error;
        this.logger.warn({ err: error }, 'bus: flush interrupted by a disconnect, retrying');
        await new Promise<void>((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Resolves on the next connected (or closed) status. */
  private whenConnected(): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const remove = this.status.add((status) => {
        if (done || (!status.connected && status.reason?.startsWith('closed') !== true)) return;
        done = true;
        // Deferred: the listener may run inside `add`, before `remove` is assigned.
        queueMicrotask(() => remove());
        resolve();
      });
    });
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    return this.status.add(listener);
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.buffered.length > 0) {
      this.logger.warn(
        { lost: this.buffered.length },
        'bus: closing while disconnected, buffered publishes lost',
      );
      this.counters.unsent += this.buffered.splice(0).length;
    }
    // Drain sends buffered publishes and handles messages already received; it waits for the server, so a
    // connection that is down would hang it — hence the cut-off.
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.closeTimeoutMs);
    });
    const outcome = await Promise.race([this.nc.drain().then(() => 'drained' as const), cutOff]).catch(
      (error: unknown) => {
        this.logger.warn({ err: error }, 'bus: NATS drain failed');
        return 'failed' as const;
      },
    );
    clearTimeout(timer);
    if (outcome !== 'drained') {
      if (outcome === 'timeout') this.logger.warn({}, 'bus: NATS drain timed out, closing');
      await this.nc.close().catch(() => undefined);
    }
    await Promise.all([...this.subscriptions.keys()].map((delivery) => delivery.idle()));
    for (const unsubscribe of [...this.subscriptions.values()]) unsubscribe();
  }
}
