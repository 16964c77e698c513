import { failureClassSchema, keyStatusSchema } from '@keyway/contracts';
import { parseModelCooling } from './model-cooling';
import type { KeyChangeCause, PoolKeyRecord } from './port';
import type { KeyEvent, KeyEventState } from './redis-key-event-feed';
import type { StoredKey } from './redis-key-store';
import type { MirrorState } from './redis-mirror-state';

const STATUSES = new Set<string>(keyStatusSchema.options);
const CAUSES = new Set<string>([
  ...failureClassSchema.options,
  'manual',
  'recovered',
  'validation',
] satisfies KeyChangeCause[]);

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => Number.isSafeInteger(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isId);

function parseState(v: unknown): KeyEventState | undefined {
  if (!isObject(v)) return undefined;
  const { status, failureCount, cooldownUntil, rateStrikes, lastError } = v;
  if (typeof status !== 'string' || !STATUSES.has(status)) return undefined;
  if (!isTime(failureCount) || !isTime(rateStrikes)) return undefined;
  if (cooldownUntil !== null && !isTime(cooldownUntil)) return undefined;
  if (lastError !== null && typeof lastError !== 'string') return undefined;
  // Tolerant, like the Redis field: a bad map costs that key its model coolings, not the whole event.
  const modelCooling = parseModelCooling(v.modelCooling);
  return {
    status: status as KeyEventState['status'],
    failureCount,
    cooldownUntil,
    rateStrikes,
    lastError,
    ...(modelCooling ? { modelCooling } : {}),
  };
}

/**
 * A key event from its feed form (JSON), or undefined when it is not one this version understands: a replica
 * must never crash on, or mirror garbage from, one bad entry in the shared stream.
 */
export function parseKeyEvent(raw: string): KeyEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const { type, origin, groupId, at } = v;
  if (typeof origin !== 'string' || !isId(groupId) || !isTime(at)) return undefined;
  switch (type) {
    case 'state': {
      const { keyId, version, cause } = v;
      const state = parseState(v.state);
      if (!isId(keyId) || !isId(version) || typeof cause !== 'string' || !CAUSES.has(cause) || !state)
        return undefined;
      return { type, origin, groupId, keyId, version, state, cause: cause as KeyChangeCause, at };
    }
    case 'upsert':
    case 'remove':
      return isIdList(v.keyIds) ? { type, origin, groupId, keyIds: v.keyIds, at } : undefined;
    case 'drop':
      return { type, origin, groupId, at };
    default:
      return undefined;
  }
}

/** What the applier needs besides the mirror state. */
export interface KeyFeedApplierOptions {
  /** This replica's name: its own events are skipped (it applied them already). */
  origin: string;
  /** Whether every group is mirrored (else only groups this replica loaded or synced). */
  allGroups: boolean;
  /** Reads keys from Redis (upsert events carry ids only, never key values). */
  readKeys: (keyIds: readonly number[]) => Promise<StoredKey[]>;
}

/** Applies other replicas' key events from the change feed to this replica's mirror. */
export class KeyFeedApplier {
  /** Feed entries ignored because they were not a key event this version understands. */
  malformed = 0;

  constructor(
    private readonly state: MirrorState,
    private readonly options: KeyFeedApplierOptions,
  ) {}

  /** Handles one feed entry; malformed ones are counted and skipped, never thrown. */
  handle(raw: string): void {
    const e = parseKeyEvent(raw);
    if (e) this.apply(e);
    else this.malformed++;
  }

  apply(e: KeyEvent): void {
    const { state } = this;
    if (state.closed || e.origin === this.options.origin) return;
    switch (e.type) {
      case 'state':
        this.applyState(e);
        return;
      case 'remove':
        for (const id of e.keyIds) if (state.known.get(id)?.groupId === e.groupId) state.forgetKey(id);
        state.mirror.apply({ kind: 'remove', groupId: e.groupId, keyIds: e.keyIds });
        return;
      case 'drop':
        state.forgetGroup(e.groupId);
        state.groups.delete(e.groupId);
        state.mirror.apply({ kind: 'drop', groupId: e.groupId });
        return;
      case 'upsert':
        if (!this.options.allGroups && !state.groups.has(e.groupId)) return;
        this.options.readKeys(e.keyIds).then(
          (read) => this.applyUpserts(e.groupId, read),
          (error: unknown) => state.onError(error),
        );
        return;
    }
  }

  private applyState(e: Extract<KeyEvent, { type: 'state' }>): void {
    const { state } = this;
    const known = state.known.get(e.keyId);
    // Keys with local changes in flight are settled by the compare-and-set, which sees this version.
    if (!known || known.groupId !== e.groupId || known.version >= e.version || state.pending.has(e.keyId))
      return;
    known.version = e.version;
    const { modelCooling, ...health } = e.state;
    const change = state.setHealth(
      known,
      e.keyId,
      modelCooling ? { ...health, modelCooling } : health,
      e.cause,
      e.at,
    );
    if (change) state.emit({ ...change, remote: true });
  }

  private applyUpserts(groupId: number, read: StoredKey[]): void {
    const { state } = this;
    if (state.closed) return;
    state.groups.add(groupId);
    const fresh: PoolKeyRecord[] = [];
    for (const { record, version } of read) {
      if (record.groupId !== groupId) continue;
      const known = state.known.get(record.id);
      if (known && known.version >= version) continue;
      // A key moving here from another group leaves that group's mirror too.
      if (known && known.groupId !== groupId)
        state.mirror.apply({ kind: 'remove', groupId: known.groupId, keyIds: [record.id] });
      state.pending.delete(record.id);
      state.known.set(record.id, { groupId, value: record.value, version });
      fresh.push(record);
    }
    state.mirror.apply({ kind: 'add', groupId, keys: fresh });
  }
}
