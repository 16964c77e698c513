import type { Redis } from 'ioredis';
import type { CounterState, Slice } from './redis-counter-state';
import { replyStrings, runScript } from './redis-exec';
import type { CounterKeyNames } from './redis-keys';
import { CLAIM, CLAIMANT_TTL_MS, EPOCH, MINUTE_KEY_TTL_MS, SEED, SYNC } from './redis-scripts';
import { ruleKey } from './windows';

/** Period counters outlive their period by a day (the control plane may still read yesterday's). */
const PERIOD_GRACE_MS = 86_400_000;

/** What a claim asks for, besides the counter itself. */
export interface ClaimRequest {
  now: number;
  /** Admissions waiting on this claim (the slice is at least this). */
  want: number;
  /** What the replica expects to use within a slice (the slice's cap). */
  demand: number;
  /** The previous slice, whose unused rest is handed back in the same call. */
  release: Slice | undefined;
  /** Minute windows: the bucket (epoch s) the new slice counts in. */
  field: string;
}

/** Redis's answer to a claim: a slice granted, or a refusal with when the window frees capacity. */
export type ClaimReply =
  | { granted: true; slice: number; used: number; key: string; end: number }
  | { granted: false; used: number; freesAt: number; key: string; end: number };

/**
 * The Redis side of the distributed counters: claims, pushes and pulls, seeds and the epoch marker, each one
 * script call bounded by `timeoutMs`. Updates the counter's known global figure from every answer.
 */
export class CounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly names: CounterKeyNames,
    private readonly replicaId: string,
    private readonly timeoutMs: number,
  ) {}

  /** The counter key of `c` at `now` (its minute hash, or its current period's figure) and the period's end. */
  keyOf(c: CounterState, now: number): { key: string; end: number } {
    return c.minute ? { key: this.names.minute(c.id, ruleKey(c.rule)), end: Infinity } : c.current(now);
  }

  /** A period counter's key for `c`'s id and rule (the state's key builder). */
  periodKey(id: string, rule: string, start: number): string {
    return this.names.period(id, rule, start);
  }

  /** Hands back the previous slice's rest and claims a new slice, atomically. */
  async claim(c: CounterState, r: ClaimRequest): Promise<ClaimReply> {
    const { key, end } = this.keyOf(c, r.now);
    const reply = replyStrings(
      await runScript(
        this.redis,
        CLAIM,
        [key, this.names.claimants(c.id, ruleKey(c.rule)), r.release?.key ?? key],
        [
          c.minute ? 'm' : 'p',
          r.now,
          c.rule.limit,
          r.want,
          this.replicaId,
          r.field,
          this.periodTtl(end, r.now),
          r.release?.field ?? '',
          Math.max(0, r.release?.left ?? 0),
          CLAIMANT_TTL_MS,
          MINUTE_KEY_TTL_MS,
          r.demand,
        ],
        this.timeoutMs,
      ),
    );
    const [granted, used = 0, third = 0] = reply.slice(0, 3).map(Number);
    if (c.minute) c.known = bucketsOf(reply.slice(3));
    else [c.knownKey, c.knownFigure] = [key, used];
    if (granted === 1) return { granted: true, slice: third, used, key, end };
    return { granted: false, used, freesAt: c.minute ? r.now + Math.max(0, third) : end, key, end };
  }

  /** Pushes `deltas` to the counter's keys and sets its known global figure from Redis's answer. */
  async pull(c: CounterState, now: number, deltas: ReadonlyMap<string, number>): Promise<void> {
    const { key, end } = this.keyOf(c, now);
    if (c.minute) {
      const pairs: string[] = [];
      for (const [f, d] of deltas) if (d !== 0) pairs.push(f, String(d));
      const flat = await this.sync(key, ['m', now, MINUTE_KEY_TTL_MS, ...pairs]);
      c.known = bucketsOf(replyStrings(flat));
    } else {
      // Deltas for a period that has ended (a rest handed back after midnight) go to that period's key.
      const older = [...deltas].filter(([k, d]) => k !== key && d !== 0);
      const [figure] = await Promise.all([
        this.sync(key, ['p', now, this.periodTtl(end, now), String(deltas.get(key) ?? 0)]),
        ...older.map(([k, d]) => this.sync(k, ['p', now, 0, String(d)])),
      ]);
      [c.knownKey, c.knownFigure] = [key, Number(replyStrings(figure)[0] ?? 0)];
    }
    c.loaded = true;
  }

  /** Raises the current period's figure to `used` where Redis holds less. */
  async seed(c: CounterState, now: number, used: number): Promise<void> {
    const { key, end } = this.keyOf(c, now);
    await runScript(this.redis, SEED, [key], [String(used), this.periodTtl(end, now)], this.timeoutMs);
  }

  /** The epoch marker's value (set to `fresh` if absent). */
  async epoch(fresh: string): Promise<string> {
    return String(await runScript(this.redis, EPOCH, [this.names.epoch], [fresh], this.timeoutMs));
  }

  private sync(key: string, args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, SYNC, [key], args, this.timeoutMs);
  }

  private periodTtl(end: number, now: number): number {
    return Number.isFinite(end) ? Math.max(1, end - now + PERIOD_GRACE_MS) : 0;
  }
}

/** A minute's buckets from a flat (second, amount) reply; a second named twice adds up. */
function bucketsOf(flat: readonly string[]): Map<number, number> {
  const buckets = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const f = Number(flat[i]);
    buckets.set(f, (buckets.get(f) ?? 0) + Number(flat[i + 1]));
  }
  return buckets;
}
