// `pnpm db:copy -- [--from URL] --to URL`: copies a Keyway database to another one, SQLite ↔ PostgreSQL ↔
// MySQL — typically a standalone's SQLite file into the PostgreSQL a distributed deployment will use. The target
// is migrated first; the copy keeps ids and is resumable (run it again after an interruption). Stop standalone
// first: rows it writes during the copy may be missed.
//
// The stored upstream keys stay encrypted as they are, so the distributed apps need the key standalone used: the
// command says where that key lives (and whether it opens the copied data), never the key itself.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseEnv } from '@keyway/config';
import { redactSecrets, scrubKeyMaterial } from '@keyway/core';
import {
  CopyRefusedError,
  copyDatabase,
  createPrismaClient,
  providerFromUrl,
  readVerifierRow,
  sqlitePathFromUrl,
  type CopySummary,
} from '@keyway/db';
import { createKeyCipher, ENCRYPTION_VERIFIER_SETTING, parseVerifier, verifierOf } from '@keyway/keypool';
import { z } from 'zod';
import { dataSecretPath, readDataSecret } from '../data-secret';
import { ENCRYPTION_KEY_FILE } from '../encryption-key';
import { loadCommandEnv, runIfEntryPoint } from './entry-point';

const USAGE = `Usage: pnpm db:copy -- [--from <DATABASE_URL>] --to <DATABASE_URL> [--batch-size <rows>]

Copies every table of a Keyway database into another one (SQLite file:, postgresql://, mysql:// or mariadb://),
ids kept. The target is migrated first and must be empty; an interrupted copy continues when run again.
  --from        the database to copy (default: standalone's own, DATABASE_URL or file:./data/keyway.db)
  --to          the database to copy into
  --batch-size  rows per transaction (default 500)
Stop standalone first. Afterwards start the distributed apps with ENCRYPTION_KEY set to standalone's key (this
command says where it is).
`;

const cliEnvSchema = z.object({
  ...databaseEnv,
  DATA_DIR: z.string().min(1).default('./data'),
  ENCRYPTION_KEY: z.string().optional(),
});

interface Args {
  from: string;
  to: string;
  batchSize: number | undefined;
}

/** Parses the arguments (a leading `--` from `pnpm db:copy -- …` is ignored); a string is a usage error. */
function parseCommandLine(argv: readonly string[], defaultFrom: string): Args | string {
  let values: { from?: string; to?: string; 'batch-size'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv.filter((a, i) => !(i === 0 && a === '--')),
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'batch-size': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (values.help) return '';
  if (!values.to) return '--to is required';
  const batch = values['batch-size'];
  if (batch !== undefined && !/^[1-9]\d{0,5}$/.test(batch)) return '--batch-size must be a positive integer';
  for (const url of [values.from, values.to])
    if (url !== undefined)
      try {
        providerFromUrl(url);
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
  return { from: values.from ?? defaultFrom, to: values.to, batchSize: batch ? Number(batch) : undefined };
}

/** Runs the command; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runDbCopy(
  argv: readonly string[],
  source: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const env = loadCommandEnv(cliEnvSchema, source, err);
  if (!env) return 2;
  const args = parseCommandLine(argv, env.DATABASE_URL);
  if (typeof args === 'string') {
    (args ? err : out)(args ? `keyway: db:copy: ${args}\n\n${USAGE}` : USAGE);
    return args ? 2 : 0;
  }
  const secrets = [passwordOf(args.from), passwordOf(args.to), env.ENCRYPTION_KEY];
  const started = Date.now();
  try {
    const summary = await copyDatabase({ from: args.from, to: args.to, batchSize: args.batchSize, log: out });
    out(summaryLine(summary, Date.now() - started));
    for (const line of await encryptionNote(args, env)) out(line);
    return 0;
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    const text = scrubKeyMaterial(redactSecrets(first, secrets));
    if (e instanceof CopyRefusedError) {
      err(`keyway: db:copy refused: ${text}`);
      return 1;
    }
    err(
      `keyway: db:copy failed: ${text}\nEvery committed batch is kept; fix the cause and run the same command ` +
        'again to continue where it stopped.',
    );
    return 1;
  }
}

function summaryLine(s: CopySummary, ms: number): string {
  const rows = s.tables.reduce((n, t) => n + t.rows, 0);
  if (s.copied === 0 && s.resumed)
    return `nothing new to copy: the target already holds a complete copy (${rows} row(s) in ${s.tables.length} tables).`;
  return (
    `done: ${s.copied} row(s) copied${s.resumed ? ' (continuing an earlier run)' : ''}; the target holds ` +
    `${rows} row(s) in ${s.tables.length} tables (${(ms / 1000).toFixed(1)} s).`
  );
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the operator must do about ENCRYPTION_KEY: nothing for plaintext keys; otherwise reuse standalone's key,
 * found in ENCRYPTION_KEY or its kept file (DATA_DIR, or beside the copied SQLite file), checked against the
 * copied verifier so a wrong file is caught now rather than at the distributed start.
 */
async function encryptionNote(args: Args, env: z.infer<typeof cliEnvSchema>): Promise<string[]> {
  const conn = createPrismaClient(args.to);
  let raw: string | null;
  try {
    raw = await readVerifierRow(conn.prisma, ENCRYPTION_VERIFIER_SETTING);
  } finally {
    await conn.close();
  }
  const verifier = raw === null ? null : parseVerifier(raw);
  if (verifier?.mode === 'plain')
    return ['The upstream keys are stored unencrypted: start the distributed apps without ENCRYPTION_KEY.'];
  if (!verifier)
    return [
      'No encryption record was copied (Keyway never started on the source): set ENCRYPTION_KEY as usual.',
    ];
  const opens = (key: string) => {
    const v = verifierOf(createKeyCipher(key));
    return v.mode === 'aes-256-gcm' && v.fingerprint === verifier.fingerprint;
  };
  const setKey =
    'Set ENCRYPTION_KEY in the distributed deployment (control plane, gateway, worker, migrate job)';
  if (env.ENCRYPTION_KEY && env.ENCRYPTION_KEY !== 'off' && opens(env.ENCRYPTION_KEY))
    return [
      `The upstream keys are encrypted with the ENCRYPTION_KEY set here. ${setKey} to that same value.`,
    ];
  const files = [dataSecretPath(ENCRYPTION_KEY_FILE, resolve(env.DATA_DIR))];
  if (providerFromUrl(args.from) === 'sqlite')
    files.push(dataSecretPath(ENCRYPTION_KEY_FILE, dirname(sqlitePathFromUrl(args.from))));
  for (const file of new Set(files)) {
    const kept = existsSync(file) ? readDataSecret(file) : null;
    if (kept?.value && opens(kept.value))
      return [
        `The upstream keys are encrypted with the key standalone generated, kept in ${file}.`,
        `${setKey} to that file's content, e.g. ENCRYPTION_KEY="$(cat ${file})" (it is not printed here). ` +
          'Keep the file backed up with the database.',
      ];
  }
  return [
    `The upstream keys are encrypted, but no key found here opens them (looked in ${[...new Set(files)].join(', ')}` +
      `${env.ENCRYPTION_KEY ? ' and ENCRYPTION_KEY' : ''}). ${setKey} to the key standalone used: its ` +
      'ENCRYPTION_KEY, or the content of DATA_DIR/encryption-key on the standalone machine.',
  ];
}

runIfEntryPoint(import.meta.url, 'db:copy', (out, err) =>
  runDbCopy(process.argv.slice(2), process.env, out, err),
);
