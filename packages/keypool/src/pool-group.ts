import type { KeyHealth } from '@keyway/core';
import { blockedUntil, blockReason, refreshBlock } from './key-blocks';
import type { BlockReason, KeyBlock } from './key-blocks';
import type { PickResult, PickWant } from './port';
import { Ring } from './ring';

/** One key of a group. */
export interface Entry {
  id: number;
  value: string;
  health: KeyHealth;
  /** Pacing and model coolings holding the key back for some models; undefined for the (many) keys with none. */
  block: KeyBlock | undefined;
}

/** A cached "every key in rotation is held back for this model" answer. */
interface Verdict {
  reason: BlockReason;
  /** The earliest time a key may serve the model again: the verdict holds until then. */
  until: number;
}

/** One group's keys, by state. */
export interface GroupState {
  id: number;
  keys: Map<number, Entry>;
  /** Usable keys in rotation. */
  ring: Ring;
  /** Cooling keys by id; scanned only when the earliest cooldown is due. */
  cooling: Set<number>;
  nextCoolingDue: number;
  /** Last time a key that is not usable was handed out as a probe. */
  lastProbeAt: number;
  /** Keys with a `block`: while empty, `pick` never looks at models (the hot path). */
  blocked: Set<number>;
  /** When every block in the group has ended at the latest: then `blocked` is emptied in one sweep. */
  blocksEnd: number;
  /**
   * All-blocked verdicts by model (null = requests naming none), so a group whose every key is held back is not
   * scanned on every request. Cleared by any change to the group.
   */
  verdicts: Map<string | null, Verdict>;
}

/** How often a group with no usable key lets one attempt through to see whether it healed. */
export const PROBE_INTERVAL_MS = 30_000;

/** An empty group. */
export function newGroup(id: number): GroupState {
  return {
    id,
    keys: new Map(),
    ring: new Ring(),
    cooling: new Set(),
    nextCoolingDue: Infinity,
    lastProbeAt: 0,
    blocked: new Set(),
    blocksEnd: 0,
    verdicts: new Map(),
  };
}

/** Takes a key out of the group. */
export function detach(g: GroupState, id: number): void {
  g.ring.remove(id);
  g.cooling.delete(id);
  g.blocked.delete(id);
  g.keys.delete(id);
  if (g.verdicts.size > 0) g.verdicts.clear();
}

/** Puts a key in the ring or the cooling set according to its health, and notes what holds it back per model. */
export function place(g: GroupState, e: Entry, now: number): void {
  g.ring.remove(e.id);
  g.cooling.delete(e.id);
  const h = e.health;
  if (h.status === 'active') g.ring.add(e.id);
  else if (h.status === 'cooling') {
    g.cooling.add(e.id);
    g.nextCoolingDue = Math.min(g.nextCoolingDue, h.cooldownUntil ?? 0);
  }
  if (h.modelCooling !== undefined || e.block !== undefined) {
    e.block = refreshBlock(e.block, h, now);
    if (e.block) {
      g.blocked.add(e.id);
      g.blocksEnd = Math.max(g.blocksEnd, e.block.end);
    } else g.blocked.delete(e.id);
  }
  if (g.verdicts.size > 0) g.verdicts.clear();
}

/** Every block in the group has ended: back to the hot path. */
export function unblockAll(g: GroupState): void {
  for (const id of g.blocked) {
    const e = g.keys.get(id);
    if (e) e.block = undefined;
  }
  g.blocked.clear();
  g.blocksEnd = 0;
  g.verdicts.clear();
}

/**
 * A pick that has to look at the session's key or at keys held back for some models; undefined = plain round
 * robin will do (nothing is held back any more, and the session's key, if any, could not be had).
 */
export function pickWanted(
  g: GroupState,
  avoid: ReadonlySet<number> | undefined,
  now: number,
  want: PickWant | undefined,
): PickResult | undefined {
  if (g.blocked.size > 0 && g.blocksEnd <= now) unblockAll(g);
  const model = want?.model ?? null;
  if (want?.prefer !== undefined) {
    const hit = preferred(g, want.prefer, avoid, model, now);
    if (hit) return hit;
  }
  // Keys held back for some models (or paced for all): look at each before handing it out.
  return g.blocked.size > 0 && g.ring.size > 0 ? pickAround(g, avoid, model, now) : undefined;
}

/** The session's key when it is in rotation, not avoided and free to serve the model; else undefined. */
export function preferred(
  g: GroupState,
  id: number,
  avoid: ReadonlySet<number> | undefined,
  model: string | null,
  now: number,
): PickResult | undefined {
  if (!g.ring.has(id) || avoid?.has(id)) return undefined;
  const e = g.keys.get(id) as Entry;
  if (e.block !== undefined && blockedUntil(e.block, e.health, model, now) > 0) return undefined;
  return { ok: true, key: { id, value: e.value }, probe: false };
}

/**
 * Round robin that passes over keys held back for `model`, preferring keys not in `avoid`. When every key in
 * rotation is held back, the refusal names the block of the key that becomes usable first (`paced` if pacing is
 * what holds that key back the longest, else `cooling`) with the time until then, and is cached for the group
 * until that time or any change, so a group of 100,000 blocked keys is scanned once, not on every request.
 */
export function pickAround(
  g: GroupState,
  avoid: ReadonlySet<number> | undefined,
  model: string | null,
  now: number,
): PickResult {
  const cached = g.verdicts.get(model);
  if (cached && cached.until > now)
    return { ok: false, reason: cached.reason, retryAfterMs: Math.max(1, cached.until - now) };
  let fallback: Entry | undefined;
  let earliest = Infinity;
  let reason: BlockReason = 'cooling';
  for (let i = 0, n = g.ring.size; i < n; i++) {
    const e = g.keys.get(g.ring.next() as number) as Entry;
    const b = e.block;
    let until = 0;
    if (b !== undefined) {
      if (b.end <= now) {
        e.block = undefined; // all its blocks ended: the group may get back to the hot path
        g.blocked.delete(e.id);
      } else until = blockedUntil(b, e.health, model, now);
    }
    if (until === 0) {
      if (!avoid?.has(e.id)) return { ok: true, key: { id: e.id, value: e.value }, probe: false };
      fallback ??= e;
    } else if (until < earliest && b !== undefined) {
      earliest = until;
      reason = blockReason(b, e.health, model, now);
    }
  }
  if (fallback) return { ok: true, key: { id: fallback.id, value: fallback.value }, probe: false };
  if (g.cooling.size > 0 && g.nextCoolingDue < earliest) {
    earliest = g.nextCoolingDue;
    reason = 'cooling';
  }
  g.verdicts.set(model, { reason, until: earliest });
  return { ok: false, reason, retryAfterMs: Math.max(1, earliest - now) };
}

/**
 * No usable key: refuse with the time until the first cooldown ends, except that every PROBE_INTERVAL_MS one
 * blacklisted key is handed out so a pool whose every key was wrongly blacklisted heals without an operator.
 */
export function probeOrRefuse(
  g: GroupState,
  avoid: ReadonlySet<number> | undefined,
  now: number,
): PickResult {
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
