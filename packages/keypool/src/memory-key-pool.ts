import type { KeyStats } from '@keyway/contracts';
import { liveModelCooling, sharedHealth } from '@keyway/core';
import type { HealthPolicy, KeyHealth, StormClass } from '@keyway/core';
import { pacedBlock } from './key-blocks';
import { parseModelCooling } from './model-cooling';
import {
  detach,
  newGroup,
  pickWanted,
  place,
  probeOrRefuse,
  type Entry,
  type GroupState,
} from './pool-group';

export { PROBE_INTERVAL_MS } from './pool-group';
import { causeOf, healthAfter } from './pool-ops';
import type { HealthOp, KeyOp, PoolOp } from './pool-ops';
import type {
  KeyChangeCause,
  KeyPool,
  KeyStateChange,
  PickResult,
  PickWant,
  PoolKeyRecord,
  ReportedOutcome,
} from './port';

/**
 * The in-memory key pool: the standalone adapter, and the local mirror distributed gateways build on. Every
 * change goes through `apply(op)`; the port's methods only build the op.
 */
export class MemoryKeyPool implements KeyPool {
  private readonly groups = new Map<number, GroupState>();
  private readonly listeners = new Set<(c: KeyStateChange, op: HealthOp) => void>();

  /**
   * Applies one change. Returns the key's new state for a key op that changed it (null otherwise, and for
   * membership ops); listeners hear about health ops only (see `PoolOp`).
   */
  apply(op: PoolOp): KeyStateChange | null {
    switch (op.kind) {
      case 'load':
        this.groups.delete(op.groupId);
        this.addKeys(op.groupId, op.keys);
        return null;
      case 'add':
        this.addKeys(op.groupId, op.keys);
        return null;
      case 'remove': {
        const g = this.groups.get(op.groupId);
        if (g) for (const id of op.keyIds) detach(g, id);
        return null;
      }
      case 'drop':
        this.groups.delete(op.groupId);
        return null;
      default:
        return this.applyToKey(op);
    }
  }

  load(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    this.apply({ kind: 'load', groupId, keys });
    return Promise.resolve();
  }

  add(groupId: number, keys: readonly PoolKeyRecord[]): Promise<void> {
    this.apply({ kind: 'add', groupId, keys });
    return Promise.resolve();
  }

  remove(groupId: number, keyIds: readonly number[]): Promise<void> {
    this.apply({ kind: 'remove', groupId, keyIds });
    return Promise.resolve();
  }

  dropGroup(groupId: number): Promise<void> {
    this.apply({ kind: 'drop', groupId });
    return Promise.resolve();
  }

  pick(groupId: number, avoid?: ReadonlySet<number>, now = Date.now(), want?: PickWant): PickResult {
    const g = this.groups.get(groupId);
    if (!g || g.keys.size === 0) return { ok: false, reason: 'empty' };
    if (g.cooling.size > 0 && g.nextCoolingDue <= now) this.releaseCooled(g, now);
    // The hot path (no session to keep, no key held back for any model) costs these two checks and nothing more.
    if (g.blocked.size > 0 || want?.prefer !== undefined) {
      const r = pickWanted(g, avoid, now, want);
      if (r) return r;
    }
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
    return probeOrRefuse(g, avoid, now);
  }

  pace(groupId: number, keyId: number, model: string | null, until: number): void {
    const g = this.groups.get(groupId);
    const e = g?.keys.get(keyId);
    if (!g || !e) return;
    // Local only: no op, no listener. Every replica paces from its own view of the shared counters.
    e.block = pacedBlock(e.block, model, until);
    g.blocked.add(e.id);
    g.blocksEnd = Math.max(g.blocksEnd, e.block.end);
    if (g.verdicts.size > 0) g.verdicts.clear();
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
    return this.apply({ kind: 'outcome', groupId, keyId, outcome, policy, at: now });
  }

  absolve(
    groupId: number,
    keyId: number,
    cls: StormClass,
    policy: HealthPolicy,
    now = Date.now(),
  ): KeyStateChange | null {
    return this.apply({ kind: 'absolve', groupId, keyId, cls, policy, at: now });
  }

  setStatus(
    groupId: number,
    keyId: number,
    status: 'active' | 'disabled' | 'invalid',
    cause: KeyChangeCause = 'manual',
    lastError: string | null = null,
  ): KeyStateChange | null {
    return this.apply({ kind: 'status', groupId, keyId, status, cause, lastError, at: Date.now() });
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

  /** Subscribes to health changes; a listener also gets the op that made the change, replayable elsewhere. */
  onChange(listener: (change: KeyStateChange, op: HealthOp) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.groups.clear();
    this.listeners.clear();
    return Promise.resolve();
  }

  private addKeys(groupId: number, keys: readonly PoolKeyRecord[]): void {
    const g = this.group(groupId);
    const now = Date.now();
    for (const k of keys) {
      detach(g, k.id);
      const health: KeyHealth = {
        status: k.status,
        failureCount: k.failureCount,
        cooldownUntil: k.cooldownUntil,
        rateStrikes: 0,
        lastError: k.lastError,
      };
      // Records come from storage (Redis, the database): checked like anything read back from there.
      const modelCooling = k.modelCooling ? parseModelCooling(k.modelCooling) : undefined;
      if (modelCooling) health.modelCooling = modelCooling;
      const entry: Entry = { id: k.id, value: k.value, health: sharedHealth(health), block: undefined };
      g.keys.set(k.id, entry);
      place(g, entry, now);
    }
  }

  private applyToKey(op: KeyOp): KeyStateChange | null {
    const g = this.groups.get(op.groupId);
    const e = g?.keys.get(op.keyId);
    if (!g || !e) return null;
    const next = healthAfter(e.health, op);
    if (next === e.health) return null;
    e.health = next;
    place(g, e, op.at);
    const change: KeyStateChange = {
      keyId: e.id,
      groupId: g.id,
      status: next.status,
      failureCount: next.failureCount,
      cooldownUntil: next.cooldownUntil,
      lastError: next.lastError,
      // Ended coolings are not worth persisting or sending: whoever reads them would drop them anyway.
      modelCooling: next.modelCooling ? (liveModelCooling(next, op.at) ?? null) : null,
      cause: op.kind === 'set' ? op.cause : causeOf(op),
      at: op.at,
    };
    if (op.kind !== 'set') for (const l of this.listeners) l(change, op);
    return change;
  }

  private group(groupId: number): GroupState {
    let g = this.groups.get(groupId);
    if (!g) {
      g = newGroup(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Returns keys whose cooldown has passed to the rotation (they come back by themselves). */
  private releaseCooled(g: GroupState, now: number): void {
    let nextDue = Infinity;
    for (const id of [...g.cooling]) {
      const e = g.keys.get(id);
      if (!e) continue;
      const until = e.health.cooldownUntil ?? 0;
      if (until <= now) this.applyToKey({ kind: 'recover', groupId: g.id, keyId: id, at: now });
      else nextDue = Math.min(nextDue, until);
    }
    g.nextCoolingDue = nextDue;
  }
}
