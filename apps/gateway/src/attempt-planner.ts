import type { FailureClass } from '@keyway/contracts';
import type { ConfigProblem } from '@keyway/core';
import type { PickedKey, PickResult } from '@keyway/keypool';
import type { GroupRuntime, UpstreamRuntime } from './runtime';

/**
 * One place a request may be served: a group (a standard group, or a member of an aggregate's tier) and the model
 * to ask it for. Access-key scopes, aggregate tiers and model aliases are all ordered lists of these.
 */
export interface Candidate {
  group: GroupRuntime;
  /** The model the request names (null when it names none). */
  model: string | null;
}

/**
 * Candidates of equal rank: the planner spreads traffic over them by the members' weights and moves to the next
 * tier only when every member is exhausted. A standard group is one tier of one member.
 */
export interface Tier {
  /**
   * The next member by weight that is not `excluded` (and, with `usable`, has a key in rotation), or undefined.
   */
  next(excluded: ReadonlySet<GroupRuntime>, usable: PoolView | null): Candidate | undefined;
}

/** What the planner reads of the key pool (the `KeyPool` port satisfies it). */
export interface PoolView {
  pick(groupId: number, avoid?: ReadonlySet<number>): PickResult;
  hasUsable(groupId: number): boolean;
}

/** What the planner reads of the storm guard and the upstream penalties. */
export interface HealthView {
  guardOpen(groupId: number): number | null;
  /** Whether an upstream is serving a penalty now (a function value: handed to the weighted picker as is). */
  readonly isPenalized: (upstream: UpstreamRuntime) => boolean;
}

/** The previous attempt's outcome as the planner needs it. */
export interface PreviousOutcome {
  class: FailureClass;
  retryable: boolean;
  /** The failure belongs to a storm of its group (storm guard). */
  storm: boolean;
}

/** What to do next. */
export type Step =
  | { kind: 'send'; candidate: Candidate; key: PickedKey; upstream: UpstreamRuntime }
  /** Nothing more to try: answer with the last attempt's result, or (none) with {@link AttemptPlanner.exhaustion}. */
  | { kind: 'stop' };

/** Why no attempt could be sent at all. */
export type Exhaustion =
  | { kind: 'config'; group: GroupRuntime; problem: ConfigProblem }
  | { kind: 'storm'; retryAfterMs: number }
  | { kind: 'cooling'; retryAfterMs: number }
  | { kind: 'empty' };

/**
 * Decides, attempt by attempt, where a request goes: given the compiled groups, a view of the pool and health, and
 * the previous attempt's outcome, the next (group, key, upstream) to try — or stop. Pure bookkeeping, no I/O: the
 * forwarding loop sends, the recorder reports health, and this walks the ordered candidate tiers.
 *
 * Rules (GPT-Load's, plus Keyway's storm guard): a candidate whose configuration cannot be sent, whose storm guard
 * is open, or whose pool has no key is excluded and the next one tried; a standard group retries its other keys
 * (and, once all were tried, tried ones again) up to `maxRetries`; an aggregate's member whose every key was tried
 * in this request, or which is in a storm, is excluded and another member tried. Retries stop at the first
 * success, a non-retryable failure, or the attempt budget (`maxRetries + 1` of the first candidate chosen).
 */
export class AttemptPlanner {
  /** Keys already tried in this request. */
  readonly tried = new Set<number>();
  private readonly excluded = new Set<GroupRuntime>();
  private current: Candidate | undefined;
  private tier = 0;
  private attempts = 0;
  private readonly maxAttempts: number;
  private stormRetryMs: number | undefined;
  private cooldownMs: number | undefined;
  private unsendable: { group: GroupRuntime; problem: ConfigProblem } | null = null;

  /**
   * @param tiers the candidates in order of preference
   * @param failsOver whether a member whose keys were all tried is left for another member (aggregates) rather
   *   than retried (a standard group)
   */
  constructor(
    private readonly tiers: readonly Tier[],
    private readonly pool: PoolView,
    private readonly health: HealthView,
    private readonly failsOver: boolean,
    private readonly onConfigProblem?: (group: string, problem: ConfigProblem) => void,
  ) {
    this.current = this.choose();
    this.maxAttempts = (this.current?.group.settings.maxRetries ?? 0) + 1;
  }

  /** The number of attempts handed out so far. */
  get sent(): number {
    return this.attempts;
  }

  /** The candidate of the last `send` step (or the one that would be tried next). */
  get candidate(): Candidate | undefined {
    return this.current;
  }

  /** What to do next, given the previous attempt's outcome (none before the first attempt). */
  next(previous?: PreviousOutcome): Step {
    if (previous && !this.continueAfter(previous)) return STOP;
    while (this.current && this.attempts < this.maxAttempts) {
      const candidate = this.current;
      const group = candidate.group;
      if (group.configProblem) {
        this.onConfigProblem?.(group.name, group.configProblem);
        this.unsendable ??= { group, problem: group.configProblem };
        this.exclude(group);
        continue;
      }
      const openMs = this.health.guardOpen(group.id);
      if (openMs !== null) {
        this.stormRetryMs = Math.min(this.stormRetryMs ?? Infinity, openMs);
        this.exclude(group);
        continue;
      }
      const pick = this.pool.pick(group.id, this.tried);
      if (!pick.ok || (this.failsOver && this.tried.has(pick.key.id))) {
        if (!pick.ok && pick.reason === 'cooling')
          this.cooldownMs = Math.min(this.cooldownMs ?? Infinity, pick.retryAfterMs ?? 1000);
        this.exclude(group);
        continue;
      }
      const upstream = group.upstreams.next(this.health.isPenalized) ?? group.upstreams.next();
      if (!upstream) return STOP;
      this.attempts++;
      this.tried.add(pick.key.id);
      return { kind: 'send', candidate, key: pick.key, upstream };
    }
    return STOP;
  }

  /**
   * An attempt failed before anything left the gateway (its configuration cannot be sent): nothing more is tried,
   * and the request is answered as a configuration fault.
   */
  presend(group: GroupRuntime, problem: ConfigProblem): void {
    this.onConfigProblem?.(group.name, problem);
    this.unsendable = { group, problem };
    this.current = undefined;
  }

  /** Why nothing could be sent (only meaningful when no attempt produced a result). */
  exhaustion(): Exhaustion {
    if (this.unsendable) return { kind: 'config', ...this.unsendable };
    if (this.stormRetryMs !== undefined) return { kind: 'storm', retryAfterMs: this.stormRetryMs };
    if (this.cooldownMs !== undefined) return { kind: 'cooling', retryAfterMs: this.cooldownMs };
    return { kind: 'empty' };
  }

  /** Whether another attempt may follow `previous`; moves off a member in a storm. */
  private continueAfter(previous: PreviousOutcome): boolean {
    if (previous.class === 'aborted' || previous.class === 'ok') return false;
    if (previous.storm && this.failsOver && this.attempts < this.maxAttempts && this.current) {
      // This member is in a storm: try another one.
      this.stormRetryMs = Math.min(this.stormRetryMs ?? Infinity, 1000);
      this.exclude(this.current.group);
      return this.current !== undefined;
    }
    return previous.retryable && !previous.storm && this.attempts < this.maxAttempts;
  }

  private exclude(group: GroupRuntime): void {
    this.excluded.add(group);
    this.current = this.choose();
  }

  /** The best candidate not excluded: by tier, preferring members with a usable key, then any left. */
  private choose(): Candidate | undefined {
    for (; this.tier < this.tiers.length; this.tier++) {
      const tier = this.tiers[this.tier] as Tier;
      // Nothing obviously usable: still try a not-yet-excluded member (its pool may hand out a probe key).
      const found = tier.next(this.excluded, this.pool) ?? tier.next(this.excluded, null);
      if (found) return found;
    }
    return undefined;
  }
}

const STOP: Step = { kind: 'stop' };

/** A tier of one candidate (a standard group, or one member of an ordered list). */
export function singleTier(candidate: Candidate): Tier {
  return {
    next: (excluded, usable) =>
      excluded.has(candidate.group) || (usable !== null && !usable.hasUsable(candidate.group.id))
        ? undefined
        : candidate,
  };
}

/** The tiers a request to `root` walks: the group itself, or an aggregate's members spread by weight. */
export function tiersOf(root: GroupRuntime, model: string | null): Tier[] {
  if (root.type !== 'aggregate') return [singleTier({ group: root, model })];
  const members = root.subGroups;
  return [
    {
      next(excluded, usable) {
        const m = members.next(
          (s) => excluded.has(s.group) || (usable !== null && !usable.hasUsable(s.group.id)),
        );
        return m ? { group: m.group, model } : undefined;
      },
    },
  ];
}
