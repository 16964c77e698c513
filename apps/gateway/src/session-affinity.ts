import { sessionLookup } from '@keyway/providers';
import type { ForwardContext, SessionAffinity } from './context';
import type { GroupRuntime } from './runtime';

/** One session → key mapping as replicas share it. */
export interface AffinityMapping {
  groupId: number;
  session: string;
  keyId: number;
  /** How long the mapping lives unused (the group's `affinity.ttlSeconds`, in ms). */
  ttlMs: number;
}

/**
 * How replicas share mappings: best effort, never on the request path. `publish` returns at once and never
 * throws; `subscribe` delivers other replicas' mappings (not this one's own).
 */
export interface AffinityShare {
  publish(mapping: AffinityMapping): void;
  subscribe(onMapping: (mapping: AffinityMapping) => void): void;
  close(): Promise<void>;
}

export interface SessionAffinityOptions {
  /** Sessions remembered across all groups; the least recently used go first (default 100 000). */
  maxEntries?: number;
  /** Sharing with other replicas (distributed mode); absent: this process only. */
  share?: AffinityShare;
  now?: () => number;
}

/** Session affinity that can be closed (its share's connection) and inspected. */
export interface LocalSessionAffinity extends SessionAffinity {
  /** Sessions remembered now (expired ones may still count until they are swept). */
  readonly size: number;
  close(): Promise<void>;
}

interface Entry {
  groupId: number;
  session: string;
  keyId: number;
  expires: number;
  /** When this mapping was last published (or learnt from another replica). */
  sharedAt: number;
  /** When it last moved to the recent end of the LRU order. */
  movedAt: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

/** Expired entries at the old end swept per insert: memory shrinks back after a burst of one-off sessions. */
const SWEEP_PER_INSERT = 2;

/**
 * A session in use moves to the recent end of the LRU order at most this often (its TTL is refreshed on every
 * use): a busy session costs one lookup per request, not a delete and re-insert twice per request.
 */
const REORDER_EVERY_MS = 1000;

export function createSessionAffinity(options: SessionAffinityOptions = {}): LocalSessionAffinity {
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  const now = options.now ?? Date.now;
  const { share } = options;
  // Per group (keyed by the session string itself: no key concatenated per lookup), in LRU order overall.
  const byGroup = new Map<number, Map<string, Entry>>();
  const order = new Set<Entry>();

  function sessions(groupId: number): Map<string, Entry> {
    let m = byGroup.get(groupId);
    if (!m) {
      m = new Map();
      byGroup.set(groupId, m);
    }
    return m;
  }

  function remove(entry: Entry): void {
    order.delete(entry);
    const m = byGroup.get(entry.groupId);
    if (m?.get(entry.session) === entry) {
      m.delete(entry.session);
      if (m.size === 0) byGroup.delete(entry.groupId);
    }
  }

  /** The live entry (its TTL refreshed, moved to the recent end now and then), or undefined. */
  function touch(groupId: number, session: string, ttlMs: number, t: number): Entry | undefined {
    const entry = byGroup.get(groupId)?.get(session);
    if (!entry) return undefined;
    if (entry.expires <= t) {
      remove(entry);
      return undefined;
    }
    entry.expires = t + ttlMs;
    if (t - entry.movedAt >= REORDER_EVERY_MS) {
      entry.movedAt = t;
      order.delete(entry);
      order.add(entry);
    }
    return entry;
  }

  function insert(groupId: number, session: string, keyId: number, ttlMs: number, t: number): void {
    const m = sessions(groupId);
    const old = m.get(session);
    if (old) order.delete(old);
    const entry: Entry = { groupId, session, keyId, expires: t + ttlMs, sharedAt: t, movedAt: t };
    m.set(session, entry);
    order.add(entry);
    let swept = 0;
    for (const e of order) {
      if (order.size > maxEntries || (swept < SWEEP_PER_INSERT && e.expires <= t)) {
        remove(e);
        swept++;
      } else break;
    }
  }

  share?.subscribe((m) => {
    insert(m.groupId, m.session, m.keyId, m.ttlMs, now());
  });

  return {
    get size() {
      return order.size;
    },
    sessionOf(ctx: ForwardContext, group: GroupRuntime): string | null {
      if (!group.affinity) return null;
      // Per request, not per call: the body is read (and parsed, when needed) once however many groups ask.
      ctx.sessionLookup ??= sessionLookup({
        path: ctx.path,
        headers: ctx.req.headers,
        body: ctx.body,
        callerKey: ctx.proxyKey,
      });
      return ctx.sessionLookup(group.affinity.header);
    },
    preferred(group: GroupRuntime, session: string): number | undefined {
      if (!group.affinity) return undefined;
      return touch(group.id, session, group.affinity.ttlSeconds * 1000, now())?.keyId;
    },
    served(group: GroupRuntime, session: string, keyId: number): void {
      if (!group.affinity) return;
      const ttlMs = group.affinity.ttlSeconds * 1000;
      const t = now();
      const known = touch(group.id, session, ttlMs, t);
      if (known && known.keyId === keyId && t - known.sharedAt < ttlMs / 2) return;
      insert(group.id, session, keyId, ttlMs, t);
      share?.publish({ groupId: group.id, session, keyId, ttlMs });
    },
    async close() {
      await share?.close();
    },
  };
}
