/** Redis key names of the distributed key pool; every adapter and tool builds them here so they never drift. */
export interface RedisKeyNames {
  /** Hash with one key's value and health: `{prefix}key:{id}`. */
  key(keyId: number): string;
  /** Set of the key ids of a group: `{prefix}group:{id}`. */
  group(groupId: number): string;
  /** SCAN pattern matching every group set. */
  groupPattern: string;
  /** Stream of key state events shared by the replicas: `{prefix}keys:events`. */
  events: string;
  /** The gateways' config snapshot (JSON): `{prefix}config`. */
  config: string;
  /** Version of the snapshot stored in `config`, polled by gateways: `{prefix}config:version`. */
  configVersion: string;
  /** Last version handed out to a control plane, so versions only grow: `{prefix}config:counter`. */
  configCounter: string;
  /** Set once the key pool in Redis was (re)built from the database; gone after a flush: `{prefix}pool:ready`. */
  poolReady: string;
  /** Held by the control plane that rebuilds the pool, so replicas do not rebuild at once: `{prefix}pool:rebuild`. */
  rebuildLock: string;
  /** Hash with one admin session (control plane): `{prefix}session:{id}`. */
  session(id: string): string;
  /** A session's id under the sha256 of its cookie token: `{prefix}session-token:{sha256}`. */
  sessionToken(tokenHash: string): string;
  /** Sorted set of the session ids, scored by expiry time (ms): `{prefix}sessions`. */
  sessions: string;
}

/** The Redis key names under `prefix` (default `kw:`). */
export function redisKeyNames(prefix = 'kw:'): RedisKeyNames {
  return {
    key: (keyId) => `${prefix}key:${keyId}`,
    group: (groupId) => `${prefix}group:${groupId}`,
    groupPattern: `${prefix}group:*`,
    events: `${prefix}keys:events`,
    config: `${prefix}config`,
    configVersion: `${prefix}config:version`,
    configCounter: `${prefix}config:counter`,
    poolReady: `${prefix}pool:ready`,
    rebuildLock: `${prefix}pool:rebuild`,
    session: (id) => `${prefix}session:${id}`,
    sessionToken: (tokenHash) => `${prefix}session-token:${tokenHash}`,
    sessions: `${prefix}sessions`,
  };
}

/** The group id in a group set's key name, or undefined for anything else. */
export function groupIdOfKey(prefix: string, name: string): number | undefined {
  const head = `${prefix}group:`;
  if (!name.startsWith(head)) return undefined;
  const id = Number(name.slice(head.length));
  return Number.isInteger(id) ? id : undefined;
}
