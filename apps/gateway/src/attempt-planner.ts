import type { FailureClass } from '@keyway/contracts';
import type { ConfigProblem } from '@keyway/core';
import type { PickedKey, PickResult, PickWant } from '@keyway/keypool';
import type { GroupRuntime, Member, UpstreamRuntime } from './runtime';
import { modelsFor, sentModel } from './runtime';
import type { SmoothWeightedRoundRobin } from '@keyway/core';

/**
 * One place a request may be served: a group (a standard group, or a member of an aggregate's tier) and the model
 * to ask it for. Access-key scopes, aggregate tiers and model aliases are all ordered lists of these; a candidate
 * is excluded, and its keys counted as tried, on its own (an alias's next model in the same group is another one).
 */
export interface Candidate {
  group: GroupRuntime;
  /** The model asked for: the one the request names, or one its alias lists (null when it names none). */
  model: string | null;
  /** The model sent upstream through `group` (its redirect applied): what key pacing and model cooling key on. */
  sentModel: string | null;
  /** The group the request reached it through: `group` itself, or the aggregate it is a member of. */
  via: GroupRuntime;
}

/**
 * Candidates of equal rank: the planner spreads traffic over them by the members' weights and moves to the next
 * tier only when every member is exhausted. A standard group is one tier of one member.
 */
export interface Tier {
  /**
   * The next member by weight that is not `excluded` (and, with `usable`, has a key in rotation), or undefined.
   */
  next(excluded: ReadonlySet<Candidate>, usable: PoolView | null): Candidate | undefined;
}

/** What the planner reads of the key pool (the `KeyPool` port satisfies it). */
export interface PoolView {
  pick(groupId: number, avoid?: ReadonlySet<number>, now?: number, want?: PickWant): PickResult;
  hasUsable(groupId: number): boolean;
}

/** A pacing verdict for one attempt on one upstream key. */
export type PaceVerdict = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Upstream-key pacing (group `keyLimits`, and allowances the providers' rate-limit headers state) as the planner
 * uses it. A refusal has already parked the key in the pool (`KeyPool.pace`), so the next pick skips it.
 * Synchronous except when a distributed counter must claim a new slice (never once per request).
 */
export interface PacingView {
  admit(group: GroupRuntime, keyId: number, model: string | null): PaceVerdict | Promise<PaceVerdict>;
}

/** Session affinity as the planner reads it: the key a session was last served by in a group. */
export interface AffinityView {
  preferred(group: GroupRuntime, session: string): number | undefined;
}

/** Per-request extras of the planner (all optional: a plain request needs none). */
export interface PlannerExtras {
  pacing?: PacingView;
  affinity?: AffinityView;
  /** The request's session id in a group with affinity on (null: none, or affinity off). */
  sessionOf?: (group: GroupRuntime) => string | null;
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
  | {
      kind: 'send';
      candidate: Candidate;
      key: PickedKey;
      /** The pool handed the key out as a probe (it had no usable key): its success may restore the key. */
      probe: boolean;
      upstream: UpstreamRuntime;
    }
  /** Nothing more to try: answer with the last attempt's result, or (none) with {@link AttemptPlanner.exhaustion}. */
  | { kind: 'stop' };

/** An attempt to send. */
export type SendStep = Extract<Step, { kind: 'send' }>;

/**
 * How the planner moves between candidates. `retry`: one standard group, retrying its keys (tried ones again once
 * every key was tried). `failover`: an aggregate's members; a member without an untried key is left for another.
 * `advance`: a key-routed request's candidate groups; a retryable failure moves on to the next candidate, and only
 * the last one left retries its own keys as `retry` does.
 */
export type PlannerMode = 'retry' | 'failover' | 'advance';

/** Why no attempt could be sent at all. */
export type Exhaustion =
  | { kind: 'config'; group: GroupRuntime; problem: ConfigProblem }
  | { kind: 'storm'; retryAfterMs: number }
  | { kind: 'cooling'; retryAfterMs: number }
  /** Every key is at its pacing limit for the model (`keyLimits` or a provider-stated allowance). */
  | { kind: 'paced'; retryAfterMs: number }
  | { kind: 'empty' };

/**
 * Decides, attempt by attempt, where a request goes: given the compiled groups, a view of the pool and health, and
 * the previous attempt's outcome, the next (group, key, upstream) to try — or stop. Pure bookkeeping, no I/O: the
 * forwarding loop sends, the recorder reports health, and this walks the ordered candidate tiers.
 *
 * Rules (GPT-Load's, plus Keyway's storm guard): a candidate whose configuration cannot be sent, whose storm guard
 * is open, or whose pool has no key is excluded and the next one tried; a standard group retries its other keys
 * (and, once all were tried, tried ones again) up to `maxRetries`; an aggregate's member whose every key was tried
 * in this request, or which is in a storm, is excluded and another member tried; a key-routed request's candidate
 * is left for the next after a retryable failure. An aggregate's tiers (`priority`) and an alias's models are later
 * tiers: reached only when every candidate before them is excluded, so each new request starts at the best one. Retries stop at the first success, a non-retryable failure, or
 * the attempt budget (`maxRetries + 1` of the first candidate chosen).
 */
export class AttemptPlanner {
  /** Keys already tried in this request, by the model sent (a key that failed for one model may serve another). */
  private readonly triedBy = new Map<string | null, Set<number>>();
  private readonly excluded = new Set<Candidate>();
  private current: Candidate | undefined;
  private tier = 0;
  private attempts = 0;
  private readonly maxAttempts: number;
  private stormRetryMs: number | undefined;
  private cooldownMs: number | undefined;
  private pacedMs: number | undefined;
  /** Keys the pacer refused in this request (a pool that failed to park one must not loop the planner). */
  private refused: Set<number> | undefined;
  private unsendable: { group: GroupRuntime; problem: ConfigProblem } | null = null;

  /**
   * @param tiers the candidates in order of preference
   * @param mode how a candidate whose attempt failed, or whose keys were all tried, is left for another
   */
  constructor(
    private readonly tiers: readonly Tier[],
    private readonly pool: PoolView,
    private readonly health: HealthView,
    private readonly mode: PlannerMode,
    private readonly onConfigProblem?: (group: string, problem: ConfigProblem) => void,
    private readonly extras: PlannerExtras = {},
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

  /**
   * What to do next, given the previous attempt's outcome (none before the first attempt). Synchronous unless a
   * paced group's distributed counter must claim a slice first.
   */
  next(previous?: PreviousOutcome): Step | Promise<Step> {
    if (previous && !this.continueAfter(previous)) return STOP;
    return this.walk();
  }

  private walk(): Step | Promise<Step> {
    while (this.current && this.attempts < this.maxAttempts) {
      const candidate = this.current;
      const group = candidate.group;
      if (group.configProblem) {
        if (this.unsendable?.group !== group) this.onConfigProblem?.(group.name, group.configProblem);
        this.unsendable ??= { group, problem: group.configProblem };
        this.exclude(candidate);
        continue;
      }
      const openMs = this.health.guardOpen(group.id);
      if (openMs !== null) {
        this.stormRetryMs = Math.min(this.stormRetryMs ?? Infinity, openMs);
        this.exclude(candidate);
        continue;
      }
      const tried = this.triedFor(candidate);
      const pick = this.pool.pick(group.id, tried, undefined, this.wantFor(candidate));
      if (!pick.ok) {
        if (pick.reason === 'cooling')
          this.cooldownMs = Math.min(this.cooldownMs ?? Infinity, pick.retryAfterMs ?? 1000);
        else if (pick.reason === 'paced')
          this.pacedMs = Math.min(this.pacedMs ?? Infinity, pick.retryAfterMs ?? 1000);
        this.exclude(candidate);
        continue;
      }
      if (tried.has(pick.key.id)) {
        // Every key of this candidate was tried: an aggregate leaves the member; a key-routed request, or an alias,
        // moves to the next candidate unless this is the last one left (then it retries a tried key, as a standard
        // group does).
        if (this.mode === 'failover') {
          this.exclude(candidate);
          continue;
        }
        if (this.moveOff(candidate)) continue;
      }
      const pacing = this.extras.pacing;
      if (pacing && !pick.probe) {
        if (this.refused?.has(pick.key.id)) {
          this.exclude(candidate);
          continue;
        }
        const id = pick.key.id;
        const verdict = pacing.admit(group, id, candidate.sentModel);
        if (verdict instanceof Promise)
          return verdict.then((v) =>
            this.paced(v, id) ? this.walk() : this.send(candidate, pick.key, pick.probe),
          );
        // Refused: the key is parked for this model now, so the next pick skips it.
        if (this.paced(verdict, id)) continue;
      }
      return this.send(candidate, pick.key, pick.probe);
    }
    return STOP;
  }

  /** Notes a pacing refusal; true when the key may not be used. */
  private paced(v: PaceVerdict, keyId: number): boolean {
    if (v.ok) return false;
    (this.refused ??= new Set()).add(keyId);
    this.pacedMs = Math.min(this.pacedMs ?? Infinity, v.retryAfterMs);
    return true;
  }

  private send(candidate: Candidate, key: PickedKey, probe: boolean): Step {
    const upstream =
      candidate.group.upstreams.next(this.health.isPenalized) ?? candidate.group.upstreams.next();
    if (!upstream) return STOP;
    this.attempts++;
    this.triedFor(candidate).add(key.id);
    return { kind: 'send', candidate, key, probe, upstream };
  }

  private triedFor(candidate: Candidate): Set<number> {
    let set = this.triedBy.get(candidate.sentModel);
    if (!set) this.triedBy.set(candidate.sentModel, (set = new Set()));
    return set;
  }

  /** The model to pick for and, on the first attempt of a session, the key that served it last. */
  private wantFor(candidate: Candidate): PickWant | undefined {
    const { affinity, sessionOf } = this.extras;
    const group = candidate.group;
    let prefer: number | undefined;
    if (affinity && sessionOf && group.affinity && this.attempts === 0) {
      const session = sessionOf(group);
      if (session !== null) prefer = affinity.preferred(group, session);
    }
    if (candidate.sentModel === null && prefer === undefined) return undefined;
    return prefer === undefined ? { model: candidate.sentModel } : { model: candidate.sentModel, prefer };
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
    if (this.cooldownMs !== undefined || this.pacedMs !== undefined) {
      // The earliest moment a key becomes usable, whichever way it is held back.
      const cooling = this.cooldownMs ?? Infinity;
      const paced = this.pacedMs ?? Infinity;
      return paced < cooling
        ? { kind: 'paced', retryAfterMs: paced }
        : { kind: 'cooling', retryAfterMs: cooling };
    }
    return { kind: 'empty' };
  }

  /**
   * Whether another attempt may follow `previous`; moves off a member in a storm, and off a key-routed candidate
   * after any retryable failure.
   */
  private continueAfter(previous: PreviousOutcome): boolean {
    if (previous.class === 'aborted' || previous.class === 'ok') return false;
    if (this.attempts >= this.maxAttempts || !this.current) return false;
    if (previous.storm && this.mode !== 'retry') {
      // This candidate is in a storm: try another one.
      this.stormRetryMs = Math.min(this.stormRetryMs ?? Infinity, 1000);
      if (this.mode === 'failover') this.exclude(this.current);
      else if (!this.moveOff(this.current)) this.current = undefined;
      return this.current !== undefined;
    }
    if (!previous.retryable || previous.storm) return false;
    if (this.mode === 'advance') this.moveOff(this.current);
    return true;
  }

  private exclude(candidate: Candidate): void {
    this.excluded.add(candidate);
    this.current = this.choose();
  }

  /** Excludes `candidate` when another one is left (and moves to it); otherwise changes nothing. */
  private moveOff(candidate: Candidate): boolean {
    const tier = this.tier;
    this.excluded.add(candidate);
    const next = this.choose();
    if (next) {
      this.current = next;
      return true;
    }
    this.excluded.delete(candidate);
    this.tier = tier;
    return false;
  }

  /**
   * The best candidate not excluded: by tier, preferring members with a usable key, then any left. A key-routed
   * request first looks for a usable key in every candidate left: the first candidate that has one serves, before
   * an earlier one is probed.
   */
  private choose(): Candidate | undefined {
    if (this.mode === 'advance')
      for (let t = this.tier; t < this.tiers.length; t++) {
        const found = (this.tiers[t] as Tier).next(this.excluded, this.pool);
        if (found) {
          this.tier = t;
          return found;
        }
      }
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
      excluded.has(candidate) || (usable !== null && !usable.hasUsable(candidate.group.id))
        ? undefined
        : candidate,
  };
}

/**
 * The tiers a request walks: for each of `roots` in order, and each model the root's alias for `model` lists (or
 * `model` itself), the group itself, or an aggregate's members tier by tier (`priority`), spread by weight inside a
 * tier. A member's own alias for the model adds tiers after the members' first model. A `/proxy/{group}` request
 * has one root; a key-routed request its candidate groups.
 */
export function tiersOf(roots: GroupRuntime | readonly GroupRuntime[], model: string | null): Tier[] {
  const list = Array.isArray(roots) ? (roots as readonly GroupRuntime[]) : [roots as GroupRuntime];
  const tiers: Tier[] = [];
  for (const root of list)
    for (const m of modelsFor(root, model)) {
      if (root.type !== 'aggregate') {
        tiers.push(singleTier({ group: root, model: m, sentModel: sentModel(root, m), via: root }));
        continue;
      }
      for (const level of root.memberTiers) {
        const depth = Math.max(0, ...level.items.map((s) => modelsFor(s.group, m).length));
        for (let nth = 0; nth < depth; nth++) tiers.push(memberTier(root, level, m, nth));
      }
    }
  return tiers;
}

/**
 * One priority level of an aggregate's members, spread by weight (the level's selector is shared by all requests),
 * each asked for the `nth` model `model` stands for in it; members without one are left out.
 */
function memberTier(
  root: GroupRuntime,
  level: SmoothWeightedRoundRobin<Member>,
  model: string | null,
  nth: number,
): Tier {
  // One candidate per member for the request's life: exclusion is by identity.
  const made = new Map<GroupRuntime, Candidate | null>();
  const candidateOf = (group: GroupRuntime): Candidate | null => {
    let c = made.get(group);
    if (c === undefined) {
      const m = modelsFor(group, model)[nth];
      c = m === undefined ? null : { group, model: m, sentModel: sentModel(group, m), via: root };
      made.set(group, c);
    }
    return c;
  };
  return {
    next(excluded, usable) {
      const member = level.next((s) => {
        const c = candidateOf(s.group);
        return c === null || excluded.has(c) || (usable !== null && !usable.hasUsable(s.group.id));
      });
      return member ? (candidateOf(member.group) ?? undefined) : undefined;
    },
  };
}

/** The planner mode for a request to `roots` (see {@link PlannerMode}). */
export function modeOf(roots: GroupRuntime | readonly GroupRuntime[]): PlannerMode {
  if (Array.isArray(roots)) return 'advance';
  return (roots as GroupRuntime).type === 'aggregate' ? 'failover' : 'retry';
}
