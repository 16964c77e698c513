import type { Group } from '@keyway/contracts';
import { expect } from 'vitest';
import type { ErrorBody, Fixture } from './fixture';

/** POSTs a group that must be created (201) and returns it. */
export async function createGroupOk(fx: Fixture, body: Record<string, unknown>): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

/** The `path: message` pairs of a 400 VALIDATION_FAILED answer. */
export function refusal(res: { status: number; json: ErrorBody; text: string }): string[] {
  expect(res.status, res.text).toBe(400);
  expect(res.json.error.code).toBe('VALIDATION_FAILED');
  return (res.json.error.details ?? []).map((d) => `${d.path}: ${d.message}`);
}
