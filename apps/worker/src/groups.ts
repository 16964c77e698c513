import type { GroupSnapshot } from '@keyway/contracts';
import { channelSchema, headerRuleSchema, readGroupConfig } from '@keyway/contracts';
import type { Group } from '@keyway/db';
import { z } from 'zod';

/** The group fields validating a key needs: a GroupSnapshot satisfies it, so callers outside the worker can too. */
export type ValidationGroup = Pick<
  GroupSnapshot,
  | 'name'
  | 'channel'
  | 'upstreams'
  | 'testModel'
  | 'validationEndpoint'
  | 'headerRules'
  | 'config'
  | 'proxyPool'
>;

/** A group row read for validation. */
export interface ValidationTarget extends ValidationGroup {
  id: number;
  type: 'standard' | 'aggregate';
  lastValidatedAt: Date | null;
}

const upstreamsSchema = z.array(z.object({ url: z.string(), weight: z.number().int() }));

/** Reads a JSON column defensively: one malformed row must not stop the re-check of every other group. */
function json<T>(schema: z.ZodType<T>, value: unknown, fallback: T): T {
  const r = schema.safeParse(value);
  return r.success ? r.data : fallback;
}

/** A group row as a validation target; null when its channel is unknown (a row from a newer version). */
export function toValidationTarget(row: Group): ValidationTarget | null {
  const channel = channelSchema.safeParse(row.channel);
  if (!channel.success) return null;
  return {
    id: row.id,
    name: row.name,
    type: row.type === 'aggregate' ? 'aggregate' : 'standard',
    channel: channel.data,
    upstreams: json(upstreamsSchema, row.upstreams, []),
    testModel: row.testModel,
    validationEndpoint: row.validationEndpoint,
    headerRules: json(z.array(headerRuleSchema), row.headerRules, []),
    config: readGroupConfig(row.config),
    proxyPool: json(z.array(z.string()), row.proxyPool, []),
    lastValidatedAt: row.lastValidatedAt,
  };
}
