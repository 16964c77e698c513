// `pnpm keys:rotate-encryption`: re-encrypts every stored upstream key from OLD_ENCRYPTION_KEY to
// NEW_ENCRYPTION_KEY (either may be empty: plain → encrypted, encrypted → plain, key A → key B) and recomputes
// the keyed hashes that de-duplication, search and the request logs rely on.
//
// Stop Keyway first: a running server keeps sealing new keys with the old key and would refuse its next start.
// The command cannot tell whether one is running, so it is built to be safe anyway: every batch is one
// transaction, a row is only rewritten if it still holds what was read, values already under the new key are
// skipped, and the verifier the start-up check reads is written last. An interrupted run is finished by running
// it again with the same variables.
import { existsSync } from 'node:fs';
import { databaseEnv, isWeakSecret } from '@keyway/config';
import { redactSecrets, scrubKeyMaterial } from '@keyway/core';
import { createPrismaClient, readVerifierRow, sqlitePathFromUrl } from '@keyway/db';
import type { EncryptionVerifier, KeyCipher } from '@keyway/keypool';
import { createKeyCipher, ENCRYPTION_VERIFIER_SETTING, parseVerifier, verifierOf } from '@keyway/keypool';
import { z } from 'zod';
import { reencryptKeys, scanKeys, scrubFreeSpace, writeVerifier } from '../reencrypt-keys';
import { loadCommandEnv, runIfEntryPoint } from './entry-point';

/** What `rotateEncryption` needs; the keys are the raw variables (empty or undefined = plain). */
export interface RotateOptions {
  databaseUrl: string;
  oldKey: string | undefined;
  newKey: string | undefined;
  /** Receives progress and notes, one line each. */
  log: (line: string) => void;
  batchSize?: number;
}

/** What a finished rotation did. */
export interface RotateSummary {
  /** Stored keys in the database. */
  total: number;
  /** Keys this run re-encrypted (or decrypted). */
  rotated: number;
  /** Keys already under the new key (a previous, interrupted run, or OLD equal to NEW). */
  alreadyDone: number;
  /** Request-log rows whose keyHash was recomputed. */
  logRows: number;
  mode: EncryptionVerifier['mode'];
}

/** The command will not run (wrong OLD key, weak NEW key, no database): nothing was changed. */
export class RotateRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotateRefusedError';
  }
}

const WRONG_OLD =
  'OLD_ENCRYPTION_KEY does not match the key the stored upstream keys are encrypted with (leave it empty if ' +
  'they are stored unencrypted). Nothing was changed.';

function sameVerifier(a: EncryptionVerifier, b: EncryptionVerifier): boolean {
  return a.mode === b.mode && (a.mode === 'plain' || (b.mode !== 'plain' && a.fingerprint === b.fingerprint));
}

function describe(cipher: KeyCipher): string {
  return cipher.encrypted ? 'encrypted (AES-256-GCM)' : 'unencrypted';
}

/** Re-encrypts every stored key from `oldKey` to `newKey`, recomputing hashes; throws RotateRefusedError. */
export async function rotateEncryption(opts: RotateOptions): Promise<RotateSummary> {
  const { log } = opts;
  if (opts.newKey?.trim()) {
    const weak = isWeakSecret(opts.newKey);
    if (weak?.level === 'refuse')
      throw new RotateRefusedError(`NEW_ENCRYPTION_KEY is too weak: ${weak.reason}. Nothing was changed.`);
    if (weak) log(`WARNING: NEW_ENCRYPTION_KEY is weak: ${weak.reason}.`);
  }
  const conn = createDatabase(opts.databaseUrl);
  const db = conn.prisma;
  try {
    log('deriving keys…');
    const from = createKeyCipher(opts.oldKey);
    const to = createKeyCipher(opts.newKey);
    const target = verifierOf(to);

    const raw = await readVerifierRow(db, ENCRYPTION_VERIFIER_SETTING);
    const stored = raw === null ? null : parseVerifier(raw);
    if (raw !== null && !stored)
      throw new RotateRefusedError(
        `the "${ENCRYPTION_VERIFIER_SETTING}" setting is unreadable; delete that row and run again. Nothing was changed.`,
      );
    // Matching NEW means a previous run got as far as its last step: running again only confirms it.
    if (stored && !sameVerifier(stored, verifierOf(from)) && !sameVerifier(stored, target))
      throw new RotateRefusedError(WRONG_OLD);
    const { total, pending, strangers } = await scanKeys(db, from, to, opts.batchSize);
    if (strangers.length > 0) {
      const shown = strangers.slice(0, 10).join(', ') + (strangers.length > 10 ? ', …' : '');
      throw new RotateRefusedError(
        `${strangers.length} stored key(s) open with neither OLD_ENCRYPTION_KEY nor NEW_ENCRYPTION_KEY ` +
          `(ids ${shown}). ${WRONG_OLD}`,
      );
    }
    log(`${total} stored key(s); ${pending} to convert from ${describe(from)} to ${describe(to)}.`);

    const done = await reencryptKeys(db, from, to, {
      provider: conn.provider,
      batchSize: opts.batchSize,
      onBatch: (p) =>
        log(
          `keys ${p.seen}/${total}: ${p.converted} converted, ${p.alreadyDone} already done, ${p.logRows} log row(s) updated`,
        ),
    });

    // Last, so the start-up check keeps refusing the new key until every value opens with it.
    if (!(stored && sameVerifier(stored, target))) await writeVerifier(db, to);
    if (to.encrypted) await scrubFreeSpace(db, conn.provider, log);
    return {
      total: done.seen,
      rotated: done.converted,
      alreadyDone: done.alreadyDone,
      logRows: done.logRows,
      mode: target.mode,
    };
  } finally {
    await conn.close();
  }
}

function createDatabase(url: string): ReturnType<typeof createPrismaClient> {
  // createPrismaClient would create an empty SQLite file; a typo in the path must not look like success.
  if (url.trim().toLowerCase().startsWith('file:')) {
    const path = sqlitePathFromUrl(url);
    if (path !== ':memory:' && !existsSync(path))
      throw new RotateRefusedError(
        `no SQLite database at ${path} (check DATABASE_URL). Nothing was changed.`,
      );
  }
  return createPrismaClient(url);
}

const cliEnvSchema = z.object({
  ...databaseEnv,
  OLD_ENCRYPTION_KEY: z.string().optional(),
  NEW_ENCRYPTION_KEY: z.string().optional(),
});

const USAGE = `Usage: DATABASE_URL=… OLD_ENCRYPTION_KEY=… NEW_ENCRYPTION_KEY=… pnpm keys:rotate-encryption

Re-encrypts the stored upstream keys. Stop Keyway first; afterwards start it with ENCRYPTION_KEY set to
NEW_ENCRYPTION_KEY (or, if NEW_ENCRYPTION_KEY is empty: standalone with ENCRYPTION_KEY=off, distributed unset).
Standalone without ENCRYPTION_KEY keeps its key in DATA_DIR/encryption-key: pass OLD_ENCRYPTION_KEY="$(cat
data/encryption-key)", and afterwards replace that file's content with the new key (or set ENCRYPTION_KEY).
  OLD_ENCRYPTION_KEY  the key the data is encrypted with now; empty if it is stored unencrypted
  NEW_ENCRYPTION_KEY  the key to encrypt with; empty to store the keys unencrypted
  DATABASE_URL        as for Keyway (default file:./data/keyway.db)
Safe to run again: an interrupted run is finished by running it with the same variables.
`;

/** Runs the command with an environment; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runRotateEncryption(
  source: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const env = loadCommandEnv(cliEnvSchema, source, err);
  if (!env) return 2;
  if (env.OLD_ENCRYPTION_KEY === undefined && env.NEW_ENCRYPTION_KEY === undefined) {
    err(`Neither OLD_ENCRYPTION_KEY nor NEW_ENCRYPTION_KEY is set: nothing to do.\n\n${USAGE}`);
    return 2;
  }
  const secrets = [env.OLD_ENCRYPTION_KEY, env.NEW_ENCRYPTION_KEY];
  try {
    const s = await rotateEncryption({
      databaseUrl: env.DATABASE_URL,
      oldKey: env.OLD_ENCRYPTION_KEY,
      newKey: env.NEW_ENCRYPTION_KEY,
      log: out,
    });
    out(
      `done: ${s.total} key(s), ${s.rotated} converted, ${s.alreadyDone} already done, ${s.logRows} request-log ` +
        `row(s) updated; keys are now stored ${s.mode === 'plain' ? 'unencrypted' : 'encrypted (AES-256-GCM)'}.`,
    );
    out(
      s.mode === 'plain'
        ? 'Start Keyway with ENCRYPTION_KEY=off (standalone; unset, it would encrypt them again with its kept ' +
            'key) or with ENCRYPTION_KEY unset (distributed apps).'
        : 'Start Keyway with ENCRYPTION_KEY set to the value of NEW_ENCRYPTION_KEY (standalone without ' +
            'ENCRYPTION_KEY: write that value into DATA_DIR/encryption-key in place of the old key).',
    );
    return 0;
  } catch (e) {
    if (e instanceof RotateRefusedError) {
      err(`keyway: rotate-encryption refused: ${e.message}`);
      return 1;
    }
    // Database errors can quote the statement's arguments: keep the first line, and scrub it anyway.
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    err(
      `keyway: rotate-encryption failed: ${scrubKeyMaterial(redactSecrets(first, secrets))}\n` +
        'Batches already committed are consistent; fix the cause and run the command again to finish.',
    );
    return 1;
  }
}

runIfEntryPoint(import.meta.url, 'rotate-encryption', (out, err) =>
  runRotateEncryption(process.env, out, err),
);
