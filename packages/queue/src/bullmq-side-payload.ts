// Big payloads of transient jobs kept beside the job, in a plain Redis string, rather than in BullMQ's job hash.
import type { Redis } from 'ioredis';

/**
 * A transient job's payload whose JSON has at least this many characters goes beside its job. BullMQ adds, hands
 * out and finishes a job in Lua scripts, and Redis 7.0 spends ~1.2 µs per KB on every script that takes or returns
 * the payload (an 80 KB argument made `return 1` cost ~100 µs, where `HSET` of the same value takes ~2 µs). A
 * gateway's log batch (~80–100 KB) went through three such scripts — ~800 µs of Redis per batch, ~4 µs per proxied
 * request. Small payloads stay in the job: there the second round trip would cost more than it saves.
 */
export const SIDE_PAYLOAD_CHARS = 8192;

/** The one field of a job's data when its payload is beside it: the payload's Redis key. */
const FIELD = '$payload';

/** What BullMQ stores as the data of a job whose payload is beside it. */
export interface SidePayloadRef {
  [FIELD]: string;
}

/** Where the payload of job `jobId` goes (under the queues' prefix, apart from BullMQ's own keys). */
export function sidePayloadKey(prefix: string, jobId: string): string {
  return `${prefix}:payloads:${jobId}`;
}

/** The job data standing for a payload stored under `key`. */
export function sidePayloadRef(key: string): SidePayloadRef {
  return { [FIELD]: key };
}

/** The payload key a job's data points at, or null when the data is the payload itself. */
export function sidePayloadKeyOf(data: unknown): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const key = (data as Partial<SidePayloadRef>)[FIELD];
  return typeof key === 'string' && Object.keys(data).length === 1 ? key : null;
}

/**
 * Stores a payload's JSON text, given in pieces (strings or UTF-8 bytes) whose concatenation is that text, under
 * `key` for `ttlSeconds` (so one whose job never runs does not stay), in one transaction. Rejects unless every piece
 * was stored: the job is then not added, and what a failure left under `key` expires.
 */
export async function storeSidePayload(
  redis: Redis,
  key: string,
  pieces: readonly (string | Buffer)[],
  ttlSeconds: number,
): Promise<void> {
  const [first = '', ...rest] = pieces;
  if (rest.length === 0) {
    await redis.set(key, first, 'EX', ttlSeconds);
    return;
  }
  const tx = redis.multi().set(key, first, 'EX', ttlSeconds);
  for (const piece of rest) tx.append(key, piece);
  const results = await tx.exec();
  const failed = results?.find(([error]) => error !== null)?.[0];
  if (!results || failed) throw failed ?? new Error(`could not store the payload under ${key}`);
}

/**
 * Thrown when a job's payload is no longer in Redis (it expired, or Redis lost it), or its data names a key that is
 * not its own: no retry can mend either.
 */
export class SidePayloadError extends Error {}

/** The payload stored under `key`, parsed. */
export async function loadSidePayload(redis: Redis, key: string, jobId: string): Promise<unknown> {
  const text = await redis.get(key);
  if (text === null)
    throw new SidePayloadError(
      `the payload of job ${jobId} is no longer in Redis (it expired, or Redis lost it)`,
    );
  return JSON.parse(text) as unknown;
}
