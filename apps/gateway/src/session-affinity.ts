import { sessionLookup } from '@keyway/providers';
import type { SessionLookup } from '@keyway/providers';
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
  keyId: number;
  expires: number;
  /** When this mapping was last published (or learnt from another replica). */
  sharedAt: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

/** Expired entries at the old end swept per insert: memory shrinks back after a burst of one-off sessions. */
const SWEEP_PER_INSERT = 2;

/**
 * Session affinity (group `affinity.mode = session`): an LRU of (group, session) → upstream key with a TTL
 * refreshed on use, bounded in size. The planner only prefers the remembered key (`pool.pick` hands it out while
 * it is usable for the model), so a session moves at once when its key cools, is paced, invalid or disabled, and
 * `served` then remembers the new key. With a share, a new or moved mapping is published for the other replicas,
 * and republished once half its TTL has gone by, so their copies outlive a session that keeps hitting one replica.
 */
export function createSessionAffinity(options: SessionAffinityOptions = {}): LocalSessionAffinity {
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  const now = options.now ?? Date.now;
  const { share } = options;
  const entries = new Map<string, Entry>();
  // Per request, not per call: the body is read (and parsed, when needed) once however many groups ask.
  const lookups = new WeakMap<ForwardContext, SessionLookup>();

  const keyOf = (groupId: number, session: string) => `${groupId}:${session}`;

  /** The live entry (refreshed and made most recent), or undefined. */
  function touch(key: string, ttlMs: number, t: number): Entry | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    entries.delete(key);
    if (entry.expires <= t) return undefined;
    entry.expires = t + ttlMs;
    entries.set(key, entry);
    return entry;
  }

  function insert(key: string, entry: Entry, t: number): void {
    entries.delete(key);
    entries.set(key, entry);
    let swept = 0;
    for (const [oldest, e] of entries) {
      if (entries.size > maxEntries || (swept < SWEEP_PER_INSERT && e.expires <= t)) {
        entries.delete(oldest);
        swept++;
      } else break;
    }
  }

  share?.subscribe((m) => {
    const t = now();
    insert(keyOf(m.groupId, m.session), { keyId: m.keyId, expires: t + m.ttlMs, sharedAt: t }, t);
  });

  return {
    get size() {
      return entries.size;
    },
    sessionOf(ctx: ForwardContext, group: GroupRuntime): string | null {
      if (!group.affinity) return null;
      let lookup = lookups.get(ctx);
      if (!lookup) {
        lookup = sessionLookup({
          path: ctx.path,
          headers: ctx.req.headers,
          body: ctx.body,
          callerKey: ctx.proxyKey,
        });
        lookups.set(ctx, lookup);
      }
      return lookup(group.affinity.header);
    },
    preferred(group: GroupRuntime, session: string): number | undefined {
      if (!group.affinity) return undefined;
      return touch(keyOf(group.id, session), group.affinity.ttlSeconds * 1000, now())?.keyId;
    },
    served(group: GroupRuntime, session: string, keyId: number): void {
      if (!group.affinity) return;
      const ttlMs = group.affinity.ttlSeconds * 1000;
      const t = now();
      const key = keyOf(group.id, session);
      const known = touch(key, ttlMs, t);
      if (known && known.keyId === keyId && t - known.sharedAt < ttlMs / 2) return;
      insert(key, { keyId, expires: t + ttlMs, sharedAt: t }, t);
      share?.publish({ groupId: group.id, session, keyId, ttlMs });
    },
    async close() {
      await share?.close();
    },
  };
}
