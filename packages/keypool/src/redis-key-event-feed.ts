import type { KeyStatus } from '@keyway/contracts';
import type { Redis } from 'ioredis';
import { redisKeyNames } from './keys';
import type { ModelCoolingMap } from './model-cooling';
import type { KeyChangeCause } from './port';

/** The health fields carried by a `state` event. */
export interface KeyEventState {
  status: KeyStatus;
  failureCount: number;
  cooldownUntil: number | null;
  rateStrikes: number;
  lastError: string | null;
  /** Model-scoped coolings; absent (an older replica's event) or null = none. */
  modelCooling?: ModelCoolingMap | null;
}

/** One change to the shared key pool, published by the replica (`origin`) that made it. */
export type KeyEvent =
  | {
      type: 'state';
      origin: string;
      groupId: number;
      keyId: number;
      /** Version of the key's Redis hash after the change: replicas ignore events older than what they hold. */
      version: number;
      state: KeyEventState;
      cause: KeyChangeCause;
      at: number;
    }
  | { type: 'upsert' | 'remove'; origin: string; groupId: number; keyIds: number[]; at: number }
  | { type: 'drop'; origin: string; groupId: number; at: number };

/** The change feed between replicas; Redis Streams today, a NATS subject later. */
export interface KeyEventFeed {
  /** Position of the newest event, so a reader started after a snapshot misses nothing written since. */
  position(): Promise<string>;
  /** Publishes events (best effort: Redis hashes stay the source of truth). */
  publish(events: readonly KeyEvent[]): Promise<void>;
  /**
   * Delivers every event after `from` to `handler` until `close`, as published (JSON): the reader parses it, so
   * one malformed entry is skipped there and never stops the feed.
   */
  subscribe(from: string, handler: (raw: string) => void, onError?: (error: unknown) => void): void;
  close(): Promise<void>;
}

/** Options of the Redis Streams feed. */
export interface RedisKeyEventFeedOptions {
  redis: Redis;
  prefix?: string;
  /** Approximate stream length kept (XADD MAXLEN ~): replicas further behind than this must resync. */
  maxLength?: number;
  /** XREAD BLOCK timeout; bounds how long `close` waits for the reader. */
  blockMs?: number;
}

/** KeyEventFeed on a Redis Stream, read with XREAD BLOCK on a dedicated connection (blocking would stall others). */
export class RedisKeyEventFeed implements KeyEventFeed {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly maxLength: number;
  private readonly blockMs: number;
  private reader: Redis | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(options: RedisKeyEventFeedOptions) {
    this.redis = options.redis;
    this.stream = redisKeyNames(options.prefix).events;
    this.maxLength = options.maxLength ?? 100_000;
    this.blockMs = options.blockMs ?? 1000;
  }

  async position(): Promise<string> {
    const last = await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  }

  async publish(events: readonly KeyEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of events)
      pipe.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*', 'e', JSON.stringify(e));
    const results = await pipe.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  subscribe(from: string, handler: (raw: string) => void, onError?: (error: unknown) => void): void {
    if (this.loop) throw new Error('RedisKeyEventFeed: already subscribed');
    const reader = this.redis.duplicate();
    reader.on('error', () => undefined); // its failures reach read() as rejected XREADs; no unhandled-error noise
    this.reader = reader;
    this.loop = this.read(reader, from, handler, onError ?? (() => undefined));
  }

  async close(): Promise<void> {
    this.closed = true;
    // The reader is blocked in XREAD for up to blockMs; disconnecting ends it at once.
    this.reader?.disconnect();
    await this.loop;
  }

  private async read(
    reader: Redis,
    from: string,
    handler: (raw: string) => void,
    onError: (error: unknown) => void,
  ): Promise<void> {
    let last = from;
    while (!this.closed) {
      try {
        const batch = await reader.xread('COUNT', 1000, 'BLOCK', this.blockMs, 'STREAMS', this.stream, last);
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            const raw = fields[fields.indexOf('e') + 1];
            if (raw === undefined) continue;
            try {
              handler(raw);
            } catch (error) {
              onError(error);
            }
          }
        }
      } catch (error) {
        if (this.closed) return;
        onError(error);
        // Redis is down or restarting: back off instead of spinning; ioredis reconnects by itself.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}
