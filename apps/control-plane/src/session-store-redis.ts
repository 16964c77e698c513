import { redisKeyNames } from '@keyway/keypool';
import type { RedisKeyNames } from '@keyway/keypool';
import type { Redis } from 'ioredis';
import type { SessionRecord, SessionStore } from './session-store';

/** Sets lastSeenAt only on a session that still exists (HSET alone would resurrect a revoked one, with no TTL). */
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1]) end
return 0
`;

/**
 * Connection states in which a command would only wait in ioredis' offline queue until its retries run out (about
 * a second per request): the store fails at once instead, and the session manager answers 503.
 */
const DISCONNECTED = new Set(['close', 'reconnecting', 'end']);

function toHash(s: SessionRecord): Record<string, string> {
  return {
    tokenHash: s.tokenHash,
    createdAt: String(s.createdAt.getTime()),
    lastSeenAt: String(s.lastSeenAt.getTime()),
    expiresAt: String(s.expiresAt.getTime()),
    clientIp: s.clientIp,
    userAgent: s.userAgent,
    authKeyFingerprint: s.authKeyFingerprint,
  };
}

function fromHash(id: string, h: Record<string, string>): SessionRecord | null {
  const { tokenHash, createdAt, lastSeenAt, expiresAt, authKeyFingerprint } = h;
  if (!tokenHash || !createdAt || !lastSeenAt || !expiresAt || authKeyFingerprint === undefined) return null;
  return {
    id,
    tokenHash,
    createdAt: new Date(Number(createdAt)),
    lastSeenAt: new Date(Number(lastSeenAt)),
    expiresAt: new Date(Number(expiresAt)),
    clientIp: h.clientIp ?? '',
    userAgent: h.userAgent ?? '',
    authKeyFingerprint,
  };
}

/**
 * The Redis adapter (distributed mode): every control-plane replica reads the same records. A session is a hash
 * plus a token-hash → id string, both expiring with the session, and a member of one sorted set (score: expiry)
 * that lists them.
 */
export class RedisSessionStore implements SessionStore {
  private readonly names: RedisKeyNames;

  constructor(
    private readonly redis: Redis,
    prefix = 'kw:',
  ) {
    this.names = redisKeyNames(prefix);
  }

  /** The client, unless the connection is known to be down. */
  private get client(): Redis {
    if (DISCONNECTED.has(this.redis.status)) throw new Error(`redis connection is ${this.redis.status}`);
    return this.redis;
  }

  async create(s: SessionRecord): Promise<void> {
    const expires = s.expiresAt.getTime();
    await this.client
      .multi()
      .hset(this.names.session(s.id), toHash(s))
      .pexpireat(this.names.session(s.id), expires)
      .set(this.names.sessionToken(s.tokenHash), s.id)
      .pexpireat(this.names.sessionToken(s.tokenHash), expires)
      .zadd(this.names.sessions, expires, s.id)
      .exec();
  }

  async findByTokenHash(tokenHash: string, now: Date): Promise<SessionRecord | null> {
    const id = await this.client.get(this.names.sessionToken(tokenHash));
    if (id === null) return null;
    const s = fromHash(id, await this.client.hgetall(this.names.session(id)));
    if (!s || s.tokenHash !== tokenHash || s.expiresAt.getTime() <= now.getTime()) return null;
    return s;
  }

  async list(now: Date): Promise<SessionRecord[]> {
    const ids = await this.client.zrangebyscore(this.names.sessions, `(${now.getTime()}`, '+inf');
    const sessions = await this.read(ids);
    return sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.client.eval(TOUCH, 1, this.names.session(id), String(at.getTime()));
  }

  async revoke(id: string): Promise<boolean> {
    const tokenHash = await this.client.hget(this.names.session(id), 'tokenHash');
    const tx = this.client.multi().del(this.names.session(id)).zrem(this.names.sessions, id);
    if (tokenHash) tx.del(this.names.sessionToken(tokenHash));
    const results = await tx.exec();
    return Number(results?.[0]?.[1] ?? 0) > 0;
  }

  async revokeAllExcept(keepId: string | null): Promise<number> {
    let count = 0;
    for (const id of await this.client.zrange(this.names.sessions, '0', '-1')) {
      if (id !== keepId && (await this.revoke(id))) count++;
    }
    return count;
  }

  async purge(now: Date, authKeyFingerprint: string): Promise<number> {
    // Expired hashes and token strings went with their TTL; only their set members are left.
    let count = await this.client.zremrangebyscore(this.names.sessions, '-inf', now.getTime());
    const ids = await this.client.zrange(this.names.sessions, '0', '-1');
    const keep = (await this.read(ids)).filter((s) => s.authKeyFingerprint === authKeyFingerprint);
    const keepIds = new Set(keep.map((s) => s.id));
    for (const id of ids) {
      if (!keepIds.has(id) && (await this.revoke(id))) count++;
    }
    return count;
  }

  /** The sessions behind `ids`; members whose hash is gone (expired a moment ago) are dropped from the set. */
  private async read(ids: string[]): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.names.session(id));
    const results = (await pipeline.exec()) ?? [];
    const out: SessionRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [err, hash] = results[i] ?? [null, {}];
      if (err) throw err;
      const s = fromHash(id, hash as Record<string, string>);
      if (s) out.push(s);
      else gone.push(id);
    });
    if (gone.length > 0) await this.client.zrem(this.names.sessions, ...gone);
    return out;
  }
}
