import type { DbConnection } from './client';

/** The database has no Keyway schema yet: the migrate command has to run first. */
export class NotMigratedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotMigratedError';
  }
}

/**
 * Fails (closing the connection) when the database holds no Keyway schema. Distributed replicas never migrate at
 * start-up — `pnpm migrate` (the migrate job) does, once per deploy — so this turns a confusing query error into
 * the one instruction that fixes it.
 */
export async function assertMigrated(connection: DbConnection): Promise<void> {
  try {
    await connection.prisma.setting.count();
  } catch (err) {
    await connection.close();
    const lines = (err instanceof Error ? err.message : String(err)).split('\n');
    const first = lines.map((l) => l.trim()).find((l) => l !== '') ?? 'no details';
    throw new NotMigratedError(
      `the database has no Keyway schema (${first}): run \`pnpm migrate\` (or the migrate job) first`,
    );
  }
}

/** A readiness check for `/ready`: resolves `ok` once the database answers a trivial query (rejects otherwise). */
export function databaseCheck(connection: DbConnection): () => Promise<string> {
  return async () => {
    await connection.prisma.$queryRawUnsafe('SELECT 1');
    return 'ok';
  };
}
