import type { KeyHealth } from '@keyway/core';
import { modelCoolingEnd } from './model-cooling';

/**
 * What holds a key back for some models or all of them while it stays in rotation: model-scoped coolings (part
 * of its health, shared) and pacing blocks (`pace`, local to this process). Only keys that have one carry a
 * `KeyBlock`, so a pick looks no further than `block === undefined` for every other key.
 */
export interface KeyBlock {
  /** Paced for every model until this time (epoch ms); 0 = not. */
  all: number;
  /** Paced for one model until this time, by model. */
  models: Map<string, number> | undefined;
  /** When every block of the key (pacing and model coolings) has ended: from then on the key has none. */
  end: number;
}

/** Why a key is held back for a model: the block that ends last. */
export type BlockReason = 'cooling' | 'paced';

/** A new block record paced for `model` (null = every model) until `until`. */
export function pacedBlock(prev: KeyBlock | undefined, model: string | null, until: number): KeyBlock {
  const b = prev ?? { all: 0, models: undefined, end: 0 };
  // The pacer's latest word wins: it recomputes the next free slot from the counters each time.
  if (model === null) b.all = until;
  else (b.models ??= new Map()).set(model, until);
  b.end = Math.max(b.end, until);
  return b;
}

/**
 * The key's block after its health changed (its model coolings may have come or gone), or undefined when nothing
 * holds it back any more at `now`.
 */
export function refreshBlock(prev: KeyBlock | undefined, h: KeyHealth, now: number): KeyBlock | undefined {
  const coolingEnd = modelCoolingEnd(h.modelCooling);
  let pacedEnd = prev ? prev.all : 0;
  if (prev?.models) for (const until of prev.models.values()) pacedEnd = Math.max(pacedEnd, until);
  const end = Math.max(coolingEnd, pacedEnd);
  if (end <= now) return undefined;
  const b = prev ?? { all: 0, models: undefined, end };
  b.end = end;
  return b;
}

/** Until when a paced key is held back for `model` (null = a request naming none): 0 when it is not. */
function pacedUntil(b: KeyBlock, model: string | null, now: number): number {
  let until = b.all > now ? b.all : 0;
  if (model !== null && b.models) {
    const m = b.models.get(model);
    if (m !== undefined) {
      if (m > now) until = Math.max(until, m);
      else b.models.delete(model); // ended: keeps the map as small as the models paced right now
    }
  }
  return until;
}

/** Until when the key is cooling for `model`: 0 when it is not (or the request names no model). */
function coolingUntil(h: KeyHealth, model: string | null, now: number): number {
  if (model === null) return 0;
  const e = h.modelCooling?.[model];
  return e !== undefined && e.until > now ? e.until : 0;
}

/** Until when a key with a block is held back for `model` at `now`; 0 when it may serve it. */
export function blockedUntil(b: KeyBlock, h: KeyHealth, model: string | null, now: number): number {
  return Math.max(pacedUntil(b, model, now), coolingUntil(h, model, now));
}

/** Why a held-back key is held back for `model`: the block that ends last (pacing on a tie). */
export function blockReason(b: KeyBlock, h: KeyHealth, model: string | null, now: number): BlockReason {
  return pacedUntil(b, model, now) >= coolingUntil(h, model, now) ? 'paced' : 'cooling';
}
