import type { DbClient } from '@keyway/db';
import { groupIdsOfType, keysAfter } from '@keyway/db';
import type { KeyPool, PoolKeyRecord } from '@keyway/keypool';
import type { KeyCipher } from './key-cipher';
import { toPoolRecord } from './keys';

const PAGE = 10_000;

/**
 * Loads every key of the database into a pool, group by group with `load` (which replaces a group: keys no longer
 * in the database leave the pool). Key health comes from the database copy, so states persisted so far survive a
 * cold start of the pool. Returns how many keys were loaded.
 */
export async function loadPoolFromDb(db: DbClient, pool: KeyPool, keyCipher: KeyCipher): Promise<number> {
  let total = 0;
  for (const groupId of await groupIdsOfType(db, 'standard')) {
    const records: PoolKeyRecord[] = [];
    for (let cursor = 0; ;) {
      const rows = await keysAfter(db, groupId, cursor, PAGE);
      if (rows.length === 0) break;
      for (const r of rows) records.push(toPoolRecord(r, { keyCipher }));
      cursor = (rows[rows.length - 1] as { id: number }).id;
    }
    await pool.load(groupId, records);
    total += records.length;
  }
  return total;
}
