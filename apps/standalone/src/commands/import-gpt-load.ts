// `pnpm import:gpt-load -- --from <sqlite file | mysql:// | postgres:// | GPT-Load's DATABASE_DSN>
// [--encryption-key K] [--dry-run] [--logs]`: imports a GPT-Load 1.4.x database into the configured Keyway
// database (API.md "GPT-Load import"). The Keyway side is resolved as the server does it: DATABASE_URL (default
// file:./data/keyway.db), migrated like a standalone start, and ENCRYPTION_KEY or the key kept in DATA_DIR. With
// NATS_URL set (distributed mode) the new keys go into the Redis key pool and a new configuration snapshot is
// published and announced, as an admin write does.
import { parseArgs } from 'node:util';
import { NatsBus } from '@keyway/bus';
import { databaseEnv, redisEnv, splitEncryptionKey } from '@keyway/config';
import { addImportedKeysToPool, buildSnapshot, checkEncryption } from '@keyway/control-plane';
import { isAppError, redactSecrets, scrubKeyMaterial } from '@keyway/core';
import { applyMigrations, assertMigrated, createPrismaClient } from '@keyway/db';
import type { DbConnection } from '@keyway/db';
import type { ApplyOutcome, ImportResult } from '@keyway/gpt-load-import';
import { describePlan, importGptLoad } from '@keyway/gpt-load-import';
import type { KeyCipher } from '@keyway/keypool';
import { createKeyCipher, RedisConfigStore, RedisKeyPool } from '@keyway/keypool';
import type { Logger } from '@keyway/observability';
import { createLogger } from '@keyway/observability';
import { busPrefixOf, connectRedis } from '@keyway/server/infra';
import { z } from 'zod';
import { prepareEncryption } from '../encryption-key';
import { loadCommandEnv, runIfEntryPoint } from './entry-point';

const cliEnvSchema = z
  .object({
    ...databaseEnv,
    DATA_DIR: z.string().min(1).default('./data'),
    ENCRYPTION_KEY: z.string().optional(),
    // Set = distributed mode (natsEnv's fragment would default it, and every run would look distributed).
    NATS_URL: z.string().trim().min(1).optional(),
    ...redisEnv,
  })
  .transform(splitEncryptionKey);
type CliEnv = z.infer<typeof cliEnvSchema>;

const USAGE = `Usage: pnpm import:gpt-load -- --from <source> [--encryption-key K] [--dry-run] [--logs]

Imports a GPT-Load 1.4.x database into Keyway: groups, keys, proxy keys and settings (--logs: also request logs
and hourly stats). Safe to run again: existing groups are skipped and their keys merged, nothing is duplicated.
  --from            GPT-Load's SQLite file, a mysql:// or postgres:// URL, or GPT-Load's own DATABASE_DSN
  --encryption-key  GPT-Load's ENCRYPTION_KEY, if it ran with one (or GPT_LOAD_ENCRYPTION_KEY)
  --dry-run         print the plan and what would be imported; write nothing
  --logs            also import request logs and hourly stats
Keyway's database and key come from DATABASE_URL, DATA_DIR and ENCRYPTION_KEY, as for the server; with NATS_URL
set (distributed mode) the running gateways are told at once.
`;

/** What the command was asked to do. */
interface Args {
  from: string;
  encryptionKey: string | undefined;
  dryRun: boolean;
  logs: boolean;
}

function parseCliArgs(argv: readonly string[], source: NodeJS.ProcessEnv): Args | string {
  try {
    const { values } = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        from: { type: 'string' },
        'encryption-key': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        logs: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (!values.from) return 'missing --from';
    const key = values['encryption-key'] ?? source.GPT_LOAD_ENCRYPTION_KEY;
    return {
      from: values.from,
      encryptionKey: key || undefined,
      dryRun: values['dry-run'],
      logs: values.logs,
    };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Keyway's key cipher, resolved as the server resolves it (standalone: env or DATA_DIR key; distributed: env). */
async function keywayCipher(conn: DbConnection, env: CliEnv, logger: Logger): Promise<KeyCipher> {
  if (!env.NATS_URL) return (await prepareEncryption(conn, env, logger)).cipher;
  const cipher = createKeyCipher(env.ENCRYPTION_KEY);
  await checkEncryption(conn.prisma, cipher);
  return cipher;
}

/** Distributed mode: new keys into the Redis pool, a new snapshot published and announced on NATS. */
async function announce(
  conn: DbConnection,
  env: CliEnv,
  cipher: KeyCipher,
  outcome: ApplyOutcome,
  logger: Logger,
) {
  const redis = connectRedis(env.REDIS_URL, logger, 'keyway-import-gpt-load');
  try {
    const pool = await RedisKeyPool.create({
      redis,
      prefix: env.REDIS_PREFIX,
      codec: cipher,
      sync: outcome.keyGroups,
    });
    await addImportedKeysToPool(conn.prisma, pool, cipher, outcome.keyGroups);
    await pool.close();
    const version = await new RedisConfigStore(redis, env.REDIS_PREFIX).publish((v) =>
      buildSnapshot(conn.prisma, v),
    );
    const bus = await NatsBus.connect({
      url: env.NATS_URL ?? '',
      prefix: busPrefixOf(env.REDIS_PREFIX),
      name: 'keyway-import-gpt-load',
      logger,
    });
    await bus.publish('config.changed', { version });
    await bus.close();
    return version;
  } finally {
    redis.disconnect();
  }
}

/** The result as readable lines (the JSON follows them). */
export function resultLines(r: ImportResult, dryRun: boolean): string[] {
  const verb = dryRun ? 'would be' : 'were';
  return [
    `groups: ${r.groups.created} ${verb} created, ${r.groups.skipped} skipped (name exists; keys merged)`,
    `keys: ${r.keys.added} ${verb} added, ${r.keys.ignored} ignored (duplicates), ${r.keys.undecryptable} undecryptable`,
    `proxy keys: ${r.proxyKeys.imported} ${verb} imported, ${r.proxyKeys.weak} of them weak`,
    `settings applied: ${r.settings.applied.join(', ') || 'none'}`,
    ...r.settings.ignored.map((s) => `setting ignored: ${s.key}: ${s.reason}`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
}

/** Runs the command; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runImportGptLoad(
  argv: readonly string[],
  source: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const args = parseCliArgs(argv, source);
  if (typeof args === 'string') {
    err(`${args}\n\n${USAGE}`);
    return 2;
  }
  const env: CliEnv | null = loadCommandEnv(cliEnvSchema, source, err);
  if (!env) return 2;
  const secrets = [args.encryptionKey, env.ENCRYPTION_KEY, args.from];
  const logger = createLogger({ level: 'warn', format: 'pretty', destination: process.stderr });
  for (const s of secrets) logger.registerSecret(s);
  let conn: DbConnection | null = null;
  try {
    if (env.NATS_URL) {
      conn = createPrismaClient(env.DATABASE_URL);
      await assertMigrated(conn);
    } else {
      await applyMigrations(env.DATABASE_URL);
      conn = createPrismaClient(env.DATABASE_URL);
    }
    const keyCipher = await keywayCipher(conn, env, logger);
    let lastStage = '';
    const outcome = await importGptLoad(
      { db: conn.prisma, provider: conn.provider, keyCipher },
      {
        from: args.from,
        encryptionKey: args.encryptionKey,
        dryRun: args.dryRun,
        logs: args.logs,
        onPlan: (plan) => {
          if (args.dryRun) for (const line of describePlan(plan)) out(line);
        },
        onProgress: (p) => {
          if (p.processed === p.total || p.stage !== lastStage) out(`${p.stage}: ${p.processed}/${p.total}`);
          lastStage = p.stage;
        },
      },
    );
    if (env.NATS_URL && outcome.changed) {
      const version = await announce(conn, env, keyCipher, outcome, logger);
      out(`announced configuration version ${version} to the gateways`);
    }
    for (const line of resultLines(outcome.result, args.dryRun)) out(line);
    out(JSON.stringify(outcome.result, null, 2));
    return 0;
  } catch (e) {
    // The reader's errors are written for operators; anything else is cut to its first line and scrubbed.
    const raw = isAppError(e)
      ? e.message
      : ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '');
    err(`keyway: import:gpt-load failed: ${scrubKeyMaterial(redactSecrets(raw, secrets))}`);
    err(
      'Groups, keys, proxy keys and settings are written in one transaction (all or nothing); running the ' +
        'command again after fixing the cause finishes the rest without duplicating anything.',
    );
    return 1;
  } finally {
    await conn?.close();
  }
}

runIfEntryPoint(import.meta.url, 'import:gpt-load', (out, err) =>
  runImportGptLoad(process.argv.slice(2), process.env, out, err),
);
