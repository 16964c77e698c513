import type { KeyStats } from '@keyway/contracts';
import { nextHealth } from '@keyway/core';
import type { HealthPolicy, KeyHealth } from '@keyway/core';
import type {
  KeyChangeCause,
  KeyPool,
  KeyStateChange,
  PickResult,
  PoolKeyRecord,
  ReportedOutcome,
} from './port';
import { Ring } from './ring';

interface Entry {
  id: number;
  value: string;
  health: KeyHealth;
}

interface GroupState {
  id: number;
  keys: Map<number, Entry>;
  /** Usable keys in rotation. */
  ring: Ring;
  /** Cooling keys by id; scanned only when the earliest cooldown is due. */
  cooling: Set<number>;
  nextCoolingDue: number;
  /** Last time a key that is not usable was handed out as a probe. */
  lastProbeAt: number;
}

/** How often a group with no usable key lets one attempt through to see whether it healed. */
export const PROBE_INTERVAL_MS = 30_000;

/** The in-memory key pool: the standalone adapter, and the local mirror distributed gateways build on. */
export class MemoryKeyPool implements KeyPool {
  private readonly groups = new Map<number, GroupState>();
  private readonly listeners = new Set<(c: KeyStateChange) => void>();

  load(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    this.groups.delete(groupId);
    return this.add(groupId, keys);
  }

  add(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    const g = this.group(groupId);
    for (const k of keys) {
      this.detach(g, k.id);
      const entry: Entry = {
        id: k.id,
        value: k.value,
        health: {
          status: k.status,
          failureCount: k.failureCount,
          cooldownUntil: k.cooldownUntil,
          rateStrikes: 0,
          lastError: k.lastError,
        },
      };
      g.keys.set(k.id, entry);
      this.place(g, entry);
    }
    return Promise.resolve();
  }

  remove(groupId: number, keyIds: readonly number[]): Promise<void> {
    const g = this.groups.get(groupId);
    if (g) for (const id of keyIds) this.detach(g, id);
    return Promise.resolve();
  }

  dropGroup(groupId: number): Promise<void> {
    this.groups.delete(groupId);
    return Promise.resolve();
  }

  pick(groupId: number, avoid?: ReadonlySet<number>, now = Date.now()): PickResult {
    const g = this.groups.get(groupId);
    if (!g || g.keys.size === 0) return { ok: false, reason: 'empty' };
    if (g.cooling.size > 0 && g.nextCoolingDue <= now) this.releaseCooled(g, now);
    const n = g.ring.size;
    if (n > 0) {
      let id = g.ring.next() as number;
      if (avoid && avoid.size > 0 && avoid.has(id)) {
        for (let i = 1; i < n; i++) {
          const candidate = g.ring.next() as number;
          if (!avoid.has(candidate)) {
            id = candidate;
            break;
          }
        }
      }
      const e = g.keys.get(id) as Entry;
      return { ok: true, key: { id, value: e.value }, probe: false };
    }
    return this.probeOrRefuse(g, avoid, now);
  }

  keyCount(groupId: number): number {
    return this.groups.get(groupId)?.keys.size ?? 0;
  }

  hasUsable(groupId: number, now = Date.now()): boolean {
    const g = this.groups.get(groupId);
    if (!g) return false;
    return g.ring.size > 0 || (g.cooling.size > 0 && g.nextCoolingDue <= now);
  }

  report(
    groupId: number,
    keyId: number,
    outcome: ReportedOutcome,
    policy: HealthPolicy,
    now = Date.now(),
  ): KeyStateChange | null {
    const g = this.groups.get(groupId);
    const e = g?.keys.get(keyId);
    if (!g || !e) return null;
    const info = {
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    };
    const next = nextHealth(e.health, outcome.class, policy, now, info);
    if (next === e.health) return null;
    return this.apply(g, e, next, outcome.class, now);
  }

  setStatus(
    groupId: number,
    keyId: number,
    status: 'active' | 'disabled' | 'invalid',
    cause: KeyChangeCause = 'manual',
    lastError: string | null = null,
  ): KeyStateChange | null {
    const g = this.groups.get(groupId);
    const e = g?.keys.get(keyId);
    if (!g || !e) return null;
    const next: KeyHealth =
      status === 'active'
        ? { status, failureCount: 0, cooldownUntil: null, rateStrikes: 0, lastError }
        : { ...e.health, status, cooldownUntil: null, lastError: lastError ?? e.health.lastError };
    return this.apply(g, e, next, cause, Date.now());
  }

  health(groupId: number, keyId: number, now = Date.now()): KeyHealth | undefined {
    const g = this.groups.get(groupId);
    if (g && g.cooling.size > 0 && g.nextCoolingDue <= now) this.releaseCooled(g, now);
    const h = g?.keys.get(keyId)?.health;
    return h ? { ...h } : undefined;
  }

  stats(groupId: number, now = Date.now()): KeyStats {
    const s: KeyStats = { total: 0, active: 0, cooling: 0, invalid: 0, disabled: 0 };
    const g = this.groups.get(groupId);
    if (!g) return s;
    if (g.cooling.size > 0 && g.nextCoolingDue <= now) this.releaseCooled(g, now);
    for (const e of g.keys.values()) {
      s.total++;
      s[e.health.status]++;
    }
    return s;
  }

  onChange(listener: (change: KeyStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.groups.clear();
    this.listeners.clear();
    return Promise.resolve();
  }

  private group(groupId: number): GroupState {
    let g = this.groups.get(groupId);
    if (!g) {
      g = {
        id: groupId,
        keys: new Map(),
        ring: new Ring(),
        cooling: new Set(),
        nextCoolingDue: Infinity,
        lastProbeAt: 0,
      };
      this.groups.set(groupId, g);
    }
    return g;
  }

  private detach(g: GroupState, id: number): void {
    g.ring.remove(id);
    g.cooling.delete(id);
    g.keys.delete(id);
  }

  /** Puts a key in the ring or the cooling set according to its health. */
  private place(g: GroupState, e: Entry): void {
    g.ring.remove(e.id);
    g.cooling.delete(e.id);
    const h = e.health;
    if (h.status === 'active') g.ring.add(e.id);
    else if (h.status === 'cooling') {
      g.cooling.add(e.id);
      g.nextCoolingDue = Math.min(g.nextCoolingDue, h.cooldownUntil ?? 0);
    }
  }

  private apply(
    g: GroupState,
    e: Entry,
    next: KeyHealth,
    cause: KeyChangeCause,
    now: number,
  ): KeyStateChange {
    e.health = next;
    this.place(g, e);
    const change: KeyStateChange = {
      keyId: e.id,
      groupId: g.id,
      status: next.status,
      failureCount: next.failureCount,
      cooldownUntil: next.cooldownUntil,
      lastError: next.lastError,
      cause,
      at: now,
    };
    for (const l of this.listeners) l(change);
    return change;
  }

  /** Returns keys whose cooldown has passed to the rotation (they come back by themselves). */
  private releaseCooled(g: GroupState, now: number): void {
    let nextDue = Infinity;
    for (const id of [...g.cooling]) {
      const e = g.keys.get(id);
      if (!e) continue;
      const until = e.health.cooldownUntil ?? 0;
      if (until <= now)
        this.apply(g, e, { ...e.health, status: 'active', cooldownUntil: null }, 'recovered', now);
      else nextDue = Math.min(nextDue, until);
    }
    g.nextCoolingDue = nextDue;
  }

  /**
   * No usable key: refuse with the time until the first cooldown ends, except that every PROBE_INTERVAL_MS one
   * blacklisted key is handed out so a pool whose every key was wrongly blacklisted heals without an operator.
   */
  private probeOrRefuse(g: GroupState, avoid: ReadonlySet<number> | undefined, now: number): PickResult {
    if (g.cooling.size > 0)
      return { ok: false, reason: 'cooling', retryAfterMs: Math.max(1, g.nextCoolingDue - now) };
    if (now - g.lastProbeAt >= PROBE_INTERVAL_MS) {
      for (const e of g.keys.values()) {
        if (e.health.status !== 'invalid' || avoid?.has(e.id)) continue;
        g.lastProbeAt = now;
        return { ok: true, key: { id: e.id, value: e.value }, probe: true };
      }
    }
    return { ok: false, reason: 'empty' };
  }
}
