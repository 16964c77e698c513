import type { ConfigSnapshot } from '@keyway/contracts';
import type { GatewayLogger } from './app';

/** Where the snapshot lives (the control plane writes it; a RedisConfigStore fits). */
export interface ConfigSource {
  /** Version of the stored snapshot, null when there is none yet. */
  version(): Promise<number | null>;
  read(): Promise<ConfigSnapshot | null>;
}

/** Options of {@link ConfigFollower}. */
export interface ConfigFollowerOptions {
  source: ConfigSource;
  /** Swaps the gateway onto a new snapshot (compile, then replace in one assignment). */
  apply: (snapshot: ConfigSnapshot) => void;
  logger: GatewayLogger;
  /** Version poll period once a snapshot is held (DESIGN §4: 15 s, so a lost bus message only delays a change). */
  pollMs?: number;
  /** Retry period until the first snapshot arrives (the gateway answers not-ready meanwhile). */
  retryMs?: number;
}

/**
 * Keeps a gateway on the newest config snapshot. `check()` is called on every `config.changed` message and by a
 * timer; it reads the stored version (one GET) and loads the snapshot only when that differs from the one held —
 * differs, not grows, so a snapshot rebuilt after Redis lost everything is taken too. Checks never overlap; one
 * asked for during a check runs right after it. Failures (Redis down) are logged once per outage and the gateway
 * keeps serving its last snapshot.
 */
export class ConfigFollower {
  private held: number | null = null;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failing = false;
  private waiting = false;
  private stopped = false;
  private readonly pollMs: number;
  private readonly retryMs: number;

  constructor(private readonly options: ConfigFollowerOptions) {
    this.pollMs = options.pollMs ?? 15_000;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Version of the snapshot in use; null before the first one. */
  get version(): number | null {
    return this.held;
  }

  /** Whether a snapshot is in use (the gateway is ready to route). */
  get ready(): boolean {
    return this.held !== null;
  }

  /** Starts polling (the first check runs now); resolves after that first check, whatever its outcome. */
  async start(): Promise<void> {
    await this.check();
  }

  /** Looks for a newer snapshot now; resolves when this (or the coalesced) check is done. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.check();
      } else this.arm();
    });
    return this.running;
  }

  /** Stops the timer; a check under way finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.held === null ? this.retryMs : this.pollMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { source, logger } = this.options;
    try {
      const stored = await source.version();
      if (stored !== null && stored !== this.held) {
        const snapshot = await source.read();
        if (snapshot && snapshot.version !== this.held) {
          const started = performance.now();
          this.options.apply(snapshot);
          const previous = this.held;
          this.held = snapshot.version;
          logger.info(
            {
              version: snapshot.version,
              previous,
              groups: snapshot.groups.length,
              ms: +(performance.now() - started).toFixed(1),
            },
            'config snapshot applied',
          );
        }
      } else if (stored === null && this.held === null) {
        if (!this.waiting)
          logger.warn({}, 'no config snapshot in Redis yet (is the control plane running?); not ready');
        this.waiting = true;
        this.failing = false;
        return;
      }
      if (this.failing) logger.info({ version: this.held }, 'config source reachable again');
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        logger.warn(
          { err, version: this.held },
          this.held === null
            ? 'cannot read the config snapshot; not ready, retrying'
            : 'cannot read the config snapshot; serving the last one, retrying',
        );
      this.failing = true;
    }
  }
}
