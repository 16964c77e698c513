import type { ConfigSnapshot } from '@keyway/contracts';
import { configSnapshotSchema } from '@keyway/contracts';
import type { Redis } from 'ioredis';
import { redisKeyNames, type RedisKeyNames } from './keys';

/**
 * Hands out the next snapshot version: the current time in ms, or one more than the last one handed out when the
 * clock is behind it. Versions keep growing across control-plane replicas, restarts and clock skew, and stay
 * larger than any version a gateway holds even after Redis lost everything (a new counter starts at `now`).
 */
const NEXT_VERSION = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = math.max(tonumber(ARGV[1]), last + 1)
redis.call('SET', KEYS[1], string.format('%d', v))
return string.format('%d', v)
`;

/** Stores a snapshot unless a newer one is already there (two control planes publishing at once). */
const STORE_SNAPSHOT = `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;

/**
 * The gateways' configuration snapshot in Redis (DESIGN §4): the control plane writes it (`publish`), gateways
 * poll the version (`version`, one GET) and read the document when it changed (`read`).
 */
export class RedisConfigStore {
  private readonly names: RedisKeyNames;

  constructor(
    private readonly redis: Redis,
    prefix = 'kw:',
  ) {
    this.names = redisKeyNames(prefix);
  }

  /**
   * Builds a snapshot with a fresh version and stores it unless a newer one got there first; returns the version
   * now stored (which a caller announces on the bus).
   */
  async publish(build: (version: number) => Promise<ConfigSnapshot>): Promise<number> {
    const version = Number(
      await this.redis.eval(NEXT_VERSION, 1, this.names.configCounter, String(Date.now())),
    );
    const snapshot = await build(version);
    await this.redis.eval(
      STORE_SNAPSHOT,
      2,
      this.names.config,
      this.names.configVersion,
      String(version),
      JSON.stringify(snapshot),
    );
    return (await this.version()) ?? version;
  }

  /** Version of the stored snapshot; null when there is none (first start, or Redis was flushed). */
  async version(): Promise<number | null> {
    const v = await this.redis.get(this.names.configVersion);
    return v === null ? null : Number(v);
  }

  /** The stored snapshot, validated; null when there is none. Throws on a document that does not parse. */
  async read(): Promise<ConfigSnapshot | null> {
    const raw = await this.redis.get(this.names.config);
    if (raw === null) return null;
    return configSnapshotSchema.parse(JSON.parse(raw));
  }
}
