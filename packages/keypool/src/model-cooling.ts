import { MAX_COOLING_MODELS } from '@keyway/core';
import type { ModelCoolingEntry } from '@keyway/core';

/** A key's model coolings as stored and sent around: by model, each with its end (epoch ms) and reason. */
export type ModelCoolingMap = Readonly<Record<string, ModelCoolingEntry>>;

/** Longest model name kept: model names come from requests and end up in Redis, events and the database. */
const MAX_MODEL_LENGTH = 255;
/** Longest reason kept (the database column for the whole map is not the place for an upstream essay). */
const MAX_REASON_LENGTH = 500;

/**
 * Model coolings from stored or received data (a Redis field, a feed event, a database JSON column), or undefined
 * when there are none. Tolerant: anything that is not a well-formed entry is left out rather than trusted or
 * thrown on, since one bad value must never stop a replica from loading the others.
 */
export function parseModelCooling(v: unknown): Record<string, ModelCoolingEntry> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  let out: Record<string, ModelCoolingEntry> | undefined;
  let count = 0;
  for (const [model, e] of Object.entries(v as Record<string, unknown>)) {
    if (count >= MAX_COOLING_MODELS) break;
    if (model === '' || model.length > MAX_MODEL_LENGTH) continue;
    if (typeof e !== 'object' || e === null) continue;
    const { until, reason } = e as Record<string, unknown>;
    if (typeof until !== 'number' || !Number.isFinite(until)) continue;
    (out ??= {})[model] = {
      until,
      reason: typeof reason === 'string' ? reason.slice(0, MAX_REASON_LENGTH) : '',
    };
    count++;
  }
  return out;
}

/** Model coolings from their JSON text (the Redis hash field); garbage and absence both mean none. */
export function parseModelCoolingJson(
  text: string | number | null | undefined,
): Record<string, ModelCoolingEntry> | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    return parseModelCooling(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The JSON text stored for a key's model coolings; '' when there are none. */
export function modelCoolingJson(m: ModelCoolingMap | null | undefined): string {
  return m && Object.keys(m).length > 0 ? JSON.stringify(m) : '';
}

/** Whether two sets of model coolings are the same (absent and empty alike). */
export function sameModelCooling(
  a: ModelCoolingMap | null | undefined,
  b: ModelCoolingMap | null | undefined,
): boolean {
  if (a === b) return true;
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    const x = a?.[k];
    const y = b?.[k];
    if (!x || !y || x.until !== y.until || x.reason !== y.reason) return false;
  }
  return true;
}

/** The latest end of a key's model coolings (0 when there are none). */
export function modelCoolingEnd(m: ModelCoolingMap | null | undefined): number {
  let end = 0;
  if (m) for (const model in m) end = Math.max(end, m[model]?.until ?? 0);
  return end;
}
