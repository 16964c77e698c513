import { databaseEnv, EnvError, loadEnv, logEnv } from '@keyway/config';
import { applyMigrations } from '@keyway/db';
import { z } from 'zod';

// `pnpm migrate` / the migrate job: applies the database migrations once per deploy, then exits (0 when the
// schema is up to date). Replicas never migrate at start-up, so a rolling deploy cannot race on the schema.

const envSchema = z.object({ ...databaseEnv, ...logEnv });

async function main(): Promise<void> {
  let url: string;
  try {
    url = loadEnv(envSchema, process.env).DATABASE_URL;
  } catch (e) {
    if (e instanceof EnvError) {
      process.stderr.write(`keyway-migrate: cannot start\n${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const result = await applyMigrations(url, {
    log: (msg) => process.stdout.write(`keyway-migrate: ${msg}\n`),
  });
  process.stdout.write(`keyway-migrate: done (${JSON.stringify(result)})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`keyway-migrate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
