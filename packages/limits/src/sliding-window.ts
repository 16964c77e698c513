import { MINUTE_MS } from './windows';

/** Entries beyond which a finite window merges amounts per `coarseGrainMs` (bounds memory at high rates). */
const EXACT_ENTRIES = 4096;
const COARSE_GRAIN_MS = 250;
/** Observed-only windows keep one entry per second: at most ~61 entries whatever the traffic. */
const OBSERVED_GRAIN_MS = 1000;

/**
 * Amounts added at instants, summed over the trailing 60 s, oldest first. Exact (one entry per millisecond)
 * while small; beyond that, or for an unlimited rule, amounts share an entry stamped with the END of their grain,
 * so an entry leaves the window at most one grain late: the window may over-count briefly, never under-count.
 */
export class SlidingWindow {
  private times: number[] = [];
  private amounts: number[] = [];
  private head = 0;
  private sum = 0;

  add(t: number, amount: number, limited: boolean): void {
    this.expire(t);
    const grain = !limited
      ? OBSERVED_GRAIN_MS
      : this.times.length - this.head < EXACT_ENTRIES
        ? 1
        : COARSE_GRAIN_MS;
    const stamp = Math.ceil(t / grain) * grain;
    const last = this.times.length - 1;
    const lastTime = this.times[last];
    if (last >= this.head && lastTime !== undefined && stamp <= lastTime) {
      // Same grain (or a clock that stepped back): add to the newest entry, which leaves the window last.
      this.amounts[last] = (this.amounts[last] ?? 0) + amount;
    } else {
      this.times.push(stamp);
      this.amounts.push(amount);
    }
    this.sum += amount;
  }

  /** The sum of the entries still inside the window at `now`. */
  used(now: number): number {
    this.expire(now);
    return this.sum;
  }

  /** When the oldest entry leaves the window (epoch ms), or null when empty. */
  nextExpiry(now: number): number | null {
    this.expire(now);
    return this.oldestExpiry();
  }

  /** {@link nextExpiry} as of the last `now` the window was expired to (after `used`: no second expiry pass). */
  oldestExpiry(): number | null {
    const t = this.times[this.head];
    return t === undefined ? null : t + MINUTE_MS;
  }

  /** When enough entries have left the window for the sum to fall below `limit` (epoch ms). */
  freesAt(now: number, limit: number): number {
    this.expire(now);
    let left = this.sum;
    for (let i = this.head; i < this.times.length; i++) {
      left -= this.amounts[i] ?? 0;
      if (left < limit) return (this.times[i] ?? now) + MINUTE_MS;
    }
    return now;
  }

  /** Entries held (memory use; tests check it stays bounded). */
  get entries(): number {
    return this.times.length - this.head;
  }

  /** Whether nothing is left in the window at `now` (the counter can be dropped). */
  isEmpty(now: number): boolean {
    this.expire(now);
    return this.head >= this.times.length;
  }

  private expire(now: number): void {
    const cutoff = now - MINUTE_MS;
    let h = this.head;
    while (h < this.times.length && (this.times[h] ?? 0) <= cutoff) {
      this.sum -= this.amounts[h] ?? 0;
      h++;
    }
    if (h === this.head) return;
    this.head = h;
    if (h >= this.times.length) {
      this.times = [];
      this.amounts = [];
      this.head = 0;
      this.sum = 0; // no float residue from adding and removing costs
    } else if (h > 1024 && h * 2 > this.times.length) {
      this.times = this.times.slice(h);
      this.amounts = this.amounts.slice(h);
      this.head = 0;
    }
  }
}
