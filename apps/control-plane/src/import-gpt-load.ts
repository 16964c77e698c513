// `POST /api/import/gpt-load` (API.md "GPT-Load import"): a GPT-Load 1.4.x database, uploaded (SQLite) or named
// by URL (MySQL, PostgreSQL), imported by the control plane that received it as a local task. Neither the
// encryption key nor a DSN password nor a proxy key ever reaches a response, a log line or the audit trail.
import { redactSecrets, scrubKeyMaterial, AppError, isAppError } from '@keyway/core';
import type { DbClient } from '@keyway/db';
import { keysAfter } from '@keyway/db';
import type { ImportGptLoadOptions } from '@keyway/gpt-load-import';
import { importGptLoad, parseGptLoadDsn } from '@keyway/gpt-load-import';
import type { KeyPool, PoolKeyRecord } from '@keyway/keypool';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import type { ControlPlaneDeps, CpEnv } from './context';
import { parseBody } from './http';
import type { KeyCipher } from './key-cipher';
import { toPoolRecord } from './keys';
import { localTasksOf } from './local-tasks';
import { cpSecrets, registerProxyKeys } from './secrets';
import { receiveUpload } from './upload';

/** Largest uploaded GPT-Load database (the route's body limit in body-limit.ts is the same). */
const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

export const gptLoadImportJsonSchema = z.strictObject({
  /** `mysql://…`, `postgres://…` or GPT-Load's own MySQL DATABASE_DSN (`user:pass@tcp(host:3306)/db`). */
  databaseUrl: z.string().trim().min(1).max(2000),
  encryptionKey: z.string().max(1000).optional(),
  dryRun: z.boolean().default(false),
  /** Also import request logs and hourly stats. */
  logs: z.boolean().default(false),
});

/** What one import runs on, with everything that must be scrubbed from its messages. */
interface ImportInput {
  from: string;
  encryptionKey: string | undefined;
  dryRun: boolean;
  logs: boolean;
  /** Printable source (password masked). */
  label: string;
  secrets: string[];
  cleanup: () => Promise<void>;
}

const flag = (v: string | undefined): boolean => v === 'true' || v === '1' || v === 'on';

async function readInput(c: Context<CpEnv>): Promise<ImportInput> {
  const type = c.req.header('content-type') ?? '';
  if (type.toLowerCase().startsWith('multipart/form-data')) {
    const upload = await receiveUpload(c.req.raw, 'file', MAX_UPLOAD_BYTES);
    if (!upload.file) {
      await upload.cleanup();
      throw AppError.validation([{ path: 'file', message: 'a GPT-Load SQLite database file is required' }]);
    }
    const key = upload.fields.encryptionKey || undefined;
    return {
      from: upload.file,
      encryptionKey: key,
      dryRun: flag(upload.fields.dryRun),
      logs: flag(upload.fields.logs),
      label: 'uploaded SQLite database',
      secrets: key ? [key] : [],
      cleanup: upload.cleanup,
    };
  }
  const body = await parseBody(c, gptLoadImportJsonSchema);
  const dsn = parseGptLoadDsn(body.databaseUrl);
  // A path would make the server read any SQLite file it can reach: upload the file instead.
  if (dsn.kind === 'sqlite')
    throw AppError.validation([
      {
        path: 'databaseUrl',
        message: 'must be a MySQL or PostgreSQL URL (or DSN); upload a SQLite database as multipart `file`',
      },
    ]);
  const password = passwordOf(body.databaseUrl);
  return {
    from: body.databaseUrl,
    encryptionKey: body.encryptionKey || undefined,
    dryRun: body.dryRun,
    logs: body.logs,
    label: dsn.label,
    secrets: [body.encryptionKey, password, body.databaseUrl].filter((s): s is string => !!s),
    cleanup: () => Promise.resolve(),
  };
}

/** The password of a URL or Go MySQL DSN (`user:pass@tcp(…)`), to scrub from messages. */
function passwordOf(dsn: string): string | null {
  const m = /^(?:[a-z]+:\/\/)?[^:@/]*:([^@]*)@/i.exec(dsn);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** A failure as the task shows it: the reader's own message (written for operators), else its first line, scrubbed. */
function describeFailure(err: unknown, secrets: readonly string[]): string {
  const raw = isAppError(err)
    ? err.message
    : ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '');
  return scrubKeyMaterial(redactSecrets(raw, secrets)) || 'the import failed';
}

/**
 * Puts the keys an import added into the key pool (keys it already holds keep their live health), so gateways
 * pick them at once. Shared with `pnpm import:gpt-load`, which does the same against Redis in distributed mode.
 */
export async function addImportedKeysToPool(
  db: DbClient,
  pool: Pick<KeyPool, 'add' | 'health'>,
  keyCipher: KeyCipher,
  groupIds: readonly number[],
): Promise<void> {
  for (const groupId of groupIds) {
    for (let cursor = 0; ;) {
      const rows = await keysAfter(db, groupId, cursor, 5000);
      if (rows.length === 0) break;
      const fresh: PoolKeyRecord[] = rows
        .filter((r) => pool.health(groupId, r.id) === undefined)
        .map((r) => toPoolRecord(r, { keyCipher }));
      if (fresh.length > 0) await pool.add(groupId, fresh);
      cursor = (rows[rows.length - 1] as { id: number }).id;
    }
  }
}

async function runImport(
  deps: ControlPlaneDeps,
  input: ImportInput,
  progress: (processed: number, total: number) => void,
  audit: CpEnv['Variables']['audit'],
): Promise<unknown> {
  try {
    const opts: ImportGptLoadOptions = {
      from: input.from,
      encryptionKey: input.encryptionKey,
      dryRun: input.dryRun,
      logs: input.logs,
      onProgress: (p) => progress(p.processed, p.total),
      onPlan: (plan) => registerProxyKeys(deps, plan.proxyKeySecrets),
    };
    const provider = deps.dbProvider ?? 'sqlite';
    const outcome = await importGptLoad({ db: deps.db, provider, keyCipher: deps.keyCipher }, opts);
    if (outcome.changed) {
      await addImportedKeysToPool(deps.db, deps.keyPool, deps.keyCipher, outcome.keyGroups);
      await deps.onConfigChanged();
    }
    const r = outcome.result;
    if (!input.dryRun)
      await audit('import.gpt-load.done', 'gpt-load', {
        source: input.label,
        groupsCreated: r.groups.created,
        groupsSkipped: r.groups.skipped,
        keysAdded: r.keys.added,
        proxyKeysImported: r.proxyKeys.imported,
        weakProxyKeys: r.proxyKeys.weak,
      });
    return r;
  } finally {
    await input.cleanup();
  }
}

/** `POST /api/import/gpt-load` → 202 `{taskId}`; progress and result at `GET /api/tasks/{taskId}`. */
export function gptLoadImportRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.post('/gpt-load', async (c) => {
    const deps = c.var.deps;
    const tasks = localTasksOf(deps);
    const busy = () => {
      if (tasks.running('gpt-load-import'))
        throw new AppError('CONFLICT', 'A GPT-Load import is already running on this control plane');
    };
    busy();
    const input = await readInput(c);
    try {
      busy();
    } catch (e) {
      await input.cleanup();
      throw e;
    }
    // Registered first: should a driver or the reader ever echo them, the logger masks them.
    for (const s of input.secrets) cpSecrets(deps).add(s);
    const audit = c.var.audit;
    const taskId = tasks.start(
      'gpt-load-import',
      (progress) => runImport(deps, input, progress, audit),
      (err) => {
        if (!isAppError(err)) deps.logger.warn({ err }, 'GPT-Load import failed');
        return describeFailure(err, input.secrets);
      },
    );
    await audit('import.gpt-load', 'gpt-load', {
      source: input.label,
      dryRun: input.dryRun,
      logs: input.logs,
      taskId,
    });
    return c.json({ taskId }, 202);
  });
  return app;
}
