// Test-only: a PostgreSQL driver adapter the wasm schema engine can introspect through.
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const PG_CHAR_OID = 18; // the one-byte catalog type "char" (pg_class.relkind, pg_constraint.contype, …)
const PG_TEXT_OID = 25;

type QueryResultLike = { fields?: { dataTypeID: number }[] };

/**
 * @prisma/adapter-pg refuses result columns of type "char" ("Column type 'char' could not be deserialized"),
 * and the engine's introspection queries select several. pg already returns their values as strings, so the
 * pool relabels such columns as text before the adapter sees them.
 */
export function introspectablePostgresAdapter(url: string): SqlMigrationAwareDriverAdapterFactory {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<QueryResultLike>;
  const relabelled = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? [])
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    return result;
  };
  Object.assign(pool, { query: relabelled });
  return new PrismaPg(pool, { disposeExternalPool: true });
}
