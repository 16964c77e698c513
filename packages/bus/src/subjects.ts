/**
 * Every subject the bus carries, its payload schema and how a subject name is built from a prefix — kept in
 * one place so publishers and subscribers of different replicas cannot drift apart.
 */
import { keyStatusSchema } from '@keyway/contracts';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** The prefix used when none is configured: subjects become `kw.config.changed`, … */
export const DEFAULT_PREFIX = 'kw';

/** Subject names (without prefix), as constants so call sites never spell them out. */
export const SUBJECTS = {
  /** Settings or groups changed: replicas reload their config snapshot if theirs is older than `version`. */
  configChanged: 'config.changed',
  /** Keys of a group were added, removed or edited: replicas reload that group's keys. */
  keysChanged: 'keys.changed',
  /** One key's runtime state changed (cooled down, invalidated, …) on one replica. */
  keyState: 'keys.state',
} as const;

/** A subject the bus carries. */
export type Subject = (typeof SUBJECTS)[keyof typeof SUBJECTS];

const version = z.number().int().min(0);
const id = z.number().int().positive();

/** `config.changed` payload. */
export const configChangedSchema = z.object({ version });
/** `keys.changed` payload. */
export const keysChangedSchema = z.object({ groupId: id, version });
/** `keys.state` payload. */
export const keyStateSchema = z.object({
  keyId: id,
  groupId: id,
  status: keyStatusSchema,
  failureCount: z.number().int().min(0),
  /** Epoch ms until which a cooling key is skipped; null when not cooling. */
  cooldownUntil: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** Why the state changed (e.g. `upstream-401`, `cooldown-expired`, `admin`). */
  cause: z.string().min(1),
  /** Epoch ms of the change. */
  at: z.number().int().min(0),
  /** The publishing process ({@link PROCESS_ORIGIN}), so a replica can ignore its own echoes. */
  origin: z.string().min(1),
});

/** Payload schema of each subject. */
export const PAYLOAD_SCHEMAS = {
  [SUBJECTS.configChanged]: configChangedSchema,
  [SUBJECTS.keysChanged]: keysChangedSchema,
  [SUBJECTS.keyState]: keyStateSchema,
} as const satisfies Record<Subject, z.ZodType>;

/** The payload type of subject `S`. */
export type Payload<S extends Subject> = z.infer<(typeof PAYLOAD_SCHEMAS)[S]>;

/** Every subject, for iteration. */
export const ALL_SUBJECTS: readonly Subject[] = Object.values(SUBJECTS);

// Dot-separated tokens without wildcards or whitespace: anything else would change what NATS matches.
const prefixPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Throws unless `prefix` is usable as the leading tokens of a subject (no `*`, `>`, spaces or empty tokens). */
export function assertPrefix(prefix: string): string {
  if (!prefixPattern.test(prefix)) {
    throw new Error(
      `invalid bus prefix ${JSON.stringify(prefix)}: use letters, digits, _ and - separated by dots`,
    );
  }
  return prefix;
}

/** The wire name of `subject` under `prefix`, e.g. `kw.keys.state`. */
export function subjectName(prefix: string, subject: Subject): string {
  return `${assertPrefix(prefix)}.${subject}`;
}

/**
 * Identifies this process in `keys.state` events. Host name and pid alone are not unique (every container's
 * main process is often pid 1), hence the random suffix.
 */
export const PROCESS_ORIGIN = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
