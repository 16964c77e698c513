import type { DbClient } from '../client';

/** A key's health as persisted (the latest change wins). */
export interface KeyStateRow {
  keyId: number;
  status: string;
  failureCount: number;
  cooldownUntil: number | null;
  lastError: string | null;
}

/** Persists the latest health of each changed key in one transaction; deleted keys are skipped. */
export async function writeKeyStates(db: DbClient, states: readonly KeyStateRow[]): Promise<void> {
  if (states.length === 0) return;
  await db.$transaction(
    states.map((s) =>
      db.apiKey.updateMany({
        where: { id: s.keyId },
        data: {
          status: s.status,
          failureCount: s.failureCount,
          cooldownUntil: s.cooldownUntil === null ? null : new Date(s.cooldownUntil),
          lastError: s.lastError === null ? null : s.lastError.slice(0, 2000),
        },
      }),
    ),
  );
}
