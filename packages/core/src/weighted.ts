/** An item with an integer weight; weight 0 is never picked. */
export interface Weighted {
  readonly weight: number;
}

/**
 * Smooth weighted round robin (nginx's algorithm): over any window of `sum(weights)` picks, each item is
 * chosen exactly `weight` times, interleaved rather than in bursts.
 */
export class SmoothWeightedRoundRobin<T extends Weighted> {
  private readonly current: number[];
  private readonly total: number;

  constructor(readonly items: readonly T[]) {
    this.current = items.map(() => 0);
    this.total = items.reduce((s, i) => s + Math.max(0, i.weight), 0);
  }

  /** Next item, skipping those `skip` rejects; undefined when none is eligible. */
  next(skip?: (item: T) => boolean): T | undefined {
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (item.weight <= 0 || skip?.(item)) continue;
      this.current[i] = (this.current[i] ?? 0) + item.weight;
      total += item.weight;
      if (best < 0 || (this.current[i] ?? 0) > (this.current[best] ?? 0)) best = i;
    }
    if (best < 0) return undefined;
    this.current[best] = (this.current[best] ?? 0) - total;
    return this.items[best];
  }

  get size(): number {
    return this.items.length;
  }

  get totalWeight(): number {
    return this.total;
  }
}
