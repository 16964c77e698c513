import type { Bus } from '@keyway/bus';
import type { ConfigSnapshot } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import type { KeyPool } from '@keyway/keypool';
import { redisKeyNames } from '@keyway/keypool';
import type { Redis } from 'ioredis';
import type { LogPort } from '@keyway/core';
import type { KeyCipher } from './key-cipher';
import { loadPoolFromDb } from './pool-loader';
import { buildSnapshot } from './snapshot';

/** Where snapshots go (a RedisConfigStore fits). */
export interface SnapshotStore {
  publish(build: (version: number) => Promise<ConfigSnapshot>): Promise<number>;
  version(): Promise<number | null>;
}

/** Options of {@link PoolKeeper}. */
export interface PoolKeeperOptions {
  db: DbClient;
  redis: Redis;
  prefix: string;
  pool: KeyPool;
  keyCipher: KeyCipher;
  store: SnapshotStore;
  /** The bus once connected (NATS may come later than Redis). */
  bus: () => Bus | undefined;
  logger: LogPort;
  /** How often Redis is checked for a lost snapshot or pool (flush, restart without persistence). */
  watchMs?: number;
}

/** How long one control plane may hold the rebuild lock (a rebuild of 100,000 keys takes a few seconds). */
const LOCK_SECONDS = 300;

/**
 * Keeps Redis holding what gateways need, as the only writer of the config snapshot and the one that rebuilds the
 * key pool from the database when Redis comes up empty (first start, flush, restart without persistence). One
 * control plane at a time rebuilds (a lock in Redis); a failed publish (Redis or NATS away) is retried by the
 * watch loop, so an admin change is saved at once and reaches the gateways as soon as Redis is back.
 */
export class PoolKeeper {
  private readonly names;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dirty = false;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PoolKeeperOptions) {
    this.names = redisKeyNames(o.prefix);
  }

  /** Checks once now (rebuilding or publishing as needed), then keeps watching. */
  async start(): Promise<void> {
    await this.tick();
    this.arm();
  }

  /** Publishes a new snapshot after an admin change; on failure keeps it pending for the watch loop. */
  async configChanged(): Promise<void> {
    this.dirty = true;
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.arm());
    }, this.o.watchMs ?? 2000);
    this.timer.unref();
  }

  /** One round: rebuild the pool if Redis lost it, publish the snapshot if asked to or if Redis lost it. */
  private tick(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(() => this.round());
    this.running = run;
    return run;
  }

  private async round(): Promise<void> {
    const { redis, logger } = this.o;
    try {
      if ((await redis.exists(this.names.poolReady)) === 0) await this.rebuild();
      if (this.dirty || (await this.o.store.version()) === null) {
        this.dirty = true;
        const version = await this.o.store.publish((v) => buildSnapshot(this.o.db, v));
        this.dirty = false;
        await this.announce(version);
      }
    } catch (err) {
      logger.warn({ err }, 'could not bring Redis up to date (snapshot or key pool); retrying');
    }
  }

  private async rebuild(): Promise<void> {
    const { redis, logger } = this.o;
    const lock = await redis.set(this.names.rebuildLock, String(process.pid), 'EX', LOCK_SECONDS, 'NX');
    if (lock !== 'OK') return; // another control plane is on it
    try {
      const started = performance.now();
      const keys = await loadPoolFromDb(this.o.db, this.o.pool, this.o.keyCipher);
      await redis.set(this.names.poolReady, new Date().toISOString());
      // Gateways re-read the snapshot too: whatever emptied the pool took the snapshot with it.
      this.dirty = true;
      logger.info(
        { keys, ms: Math.round(performance.now() - started) },
        'key pool in Redis rebuilt from the database',
      );
    } finally {
      await redis.del(this.names.rebuildLock);
    }
  }

  private async announce(version: number): Promise<void> {
    const bus = this.o.bus();
    if (!bus) return; // gateways poll the version every 15 s; NATS only makes it immediate
    await bus.publish('config.changed', { version }).catch((err: unknown) => {
      this.o.logger.warn({ err }, 'could not announce the config change on NATS; gateways will poll it');
    });
  }
}
