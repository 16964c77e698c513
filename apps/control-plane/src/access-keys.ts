import { randomBytes } from 'node:crypto';
import type { AccessKeyCreate, AccessKeyPatch } from '@keyway/contracts';
import {
  accessKeyCreateSchema,
  accessKeyFromProxyKeySchema,
  accessKeyPatchSchema,
  NO_LIMITS,
  paginationQuerySchema,
} from '@keyway/contracts';
import { AppError, maskSecret } from '@keyway/core';
import type { AccessKeyRecord, AccessKeyRowPatch, DbClient, NewAccessKeyRow } from '@keyway/db';
import {
  accessKeyHashesAmong,
  createAccessKey,
  deleteAccessKey,
  findAccessKey,
  findAccessKeyByHash,
  listAccessKeyPage,
  readAccessKeyUsage,
  rotateAccessKey,
  updateAccessKey,
} from '@keyway/db';
import { hashProxyKey } from '@keyway/keypool';
import { Hono } from 'hono';
import { accessKeyViews } from './access-key-view';
import type { ControlPlaneDeps, CpEnv } from './context';
import { idParam, isUniqueViolation, parseBody, parseQuery } from './http';
import { moveProxyKey } from './proxy-key-move';
import { cpSecrets } from './secrets';

/** Prefix of generated access keys: recognisable in a leaked config file, and not a provider's own (`sk-proj-`). */
export const ACCESS_KEY_PREFIX = 'sk-kw-';

/** A new access key secret: the prefix and 32 random bytes (43 base64url characters). */
export function newAccessKeySecret(): string {
  return `${ACCESS_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Refuses proxy keys whose secret is already an access key's (400 at `proxyKeys.N`, never quoting the key): the
 * gateway would have to pick one of two meanings for the same secret. Masked values sent back are no keys.
 */
export async function assertNotAccessKeys(
  db: DbClient,
  values: readonly string[] | undefined,
): Promise<void> {
  if (!values || values.length === 0) return;
  const hashes = values.map((v) => (v.includes('…') ? '' : hashProxyKey(v)));
  const taken = new Set(
    await accessKeyHashesAmong(
      db,
      hashes.filter((h) => h !== ''),
    ),
  );
  const problems = hashes.flatMap((h, i) =>
    taken.has(h) ? [{ path: `proxyKeys.${i}`, message: 'this secret is already an access key' }] : [],
  );
  if (problems.length > 0) throw AppError.validation(problems, 'A proxy key is already an access key');
}

function rowOf(input: AccessKeyCreate): Omit<NewAccessKeyRow, 'keyHash' | 'keyMasked'> {
  return {
    name: input.name,
    groups: input.groups,
    models: input.models,
    limits: input.limits,
    expiresAt: input.expiresAt === null ? null : new Date(input.expiresAt),
    enabled: input.enabled,
    notes: input.notes,
  };
}

function patchOf(p: AccessKeyPatch, current: AccessKeyRecord): AccessKeyRowPatch {
  return {
    ...(p.name === undefined ? {} : { name: p.name }),
    ...(p.groups === undefined ? {} : { groups: p.groups }),
    ...(p.models === undefined ? {} : { models: p.models }),
    // `limits` replaces the limits it names and keeps the others.
    ...(p.limits === undefined ? {} : { limits: { ...current.limits, ...p.limits } }),
    ...(p.expiresAt === undefined ? {} : { expiresAt: p.expiresAt === null ? null : new Date(p.expiresAt) }),
    ...(p.enabled === undefined ? {} : { enabled: p.enabled }),
    ...(p.notes === undefined ? {} : { notes: p.notes }),
  };
}

function conflictOnName(name: string) {
  return (e: unknown): never => {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', `An access key named '${name}' already exists`);
    throw e;
  };
}

async function mustFind(db: DbClient, id: number): Promise<AccessKeyRecord> {
  const row = await findAccessKey(db, id);
  if (!row) throw AppError.notFound('Access key');
  return row;
}

/** A fresh secret, its hash and masked form; registered so an upstream echoing it is masked everywhere. */
function freshSecret(deps: ControlPlaneDeps): { key: string; keyHash: string; keyMasked: string } {
  const key = newAccessKeySecret();
  cpSecrets(deps).add(key, 'proxyKey');
  return { key, keyHash: hashProxyKey(key), keyMasked: maskSecret(key) };
}

/** One key as the API shows it: masked unless `secret` is the one moment it may be shown. */
async function viewOne(deps: ControlPlaneDeps, row: AccessKeyRecord, secret?: string) {
  const [view] = await accessKeyViews(deps, [row]);
  return secret === undefined ? view : { ...view, key: secret };
}

/** Access keys under `/api/access-keys` (API.md "Access keys"). */
export function accessKeyRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/', async (c) => {
    const q = parseQuery(c, paginationQuerySchema);
    // Usage first, then the keys (see accessKeyViews).
    const usage = await readAccessKeyUsage(c.var.deps.db, new Date());
    const { rows, total } = await listAccessKeyPage(c.var.deps.db, {
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    const items = await accessKeyViews(c.var.deps, rows, usage);
    return c.json({ items, total, page: q.page, pageSize: q.pageSize });
  });

  app.post('/', async (c) => {
    const input = await parseBody(c, accessKeyCreateSchema);
    const deps = c.var.deps;
    const secret = freshSecret(deps);
    const row = await createAccessKey(deps.db, {
      ...rowOf(input),
      keyHash: secret.keyHash,
      keyMasked: secret.keyMasked,
    }).catch(conflictOnName(input.name));
    await c.var.audit('access-key.create', `access-key:${row.id}`, { name: row.name });
    await deps.onConfigChanged();
    return c.json(await viewOne(deps, row, secret.key), 201);
  });

  app.post('/from-proxy-key', async (c) => {
    const input = await parseBody(c, accessKeyFromProxyKeySchema);
    const deps = c.var.deps;
    const row = await moveProxyKey(deps, input, async (stored) => {
      if (await findAccessKeyByHash(deps.db, stored.hash))
        throw new AppError('CONFLICT', 'This proxy key is already an access key');
      return createAccessKey(deps.db, {
        name: input.name,
        keyHash: stored.hash,
        keyMasked: stored.masked,
        // The key keeps reaching what it reached as a proxy key: its group, or every group.
        groups: input.groupId === undefined ? '*' : [input.groupId],
        models: [],
        limits: NO_LIMITS,
        expiresAt: null,
        enabled: true,
        notes: '',
      }).catch(conflictOnName(input.name));
    });
    await c.var.audit('access-key.from-proxy-key', `access-key:${row.id}`, {
      name: row.name,
      from: input.groupId === undefined ? 'settings' : `group:${input.groupId}`,
    });
    await deps.onConfigChanged();
    return c.json(await viewOne(deps, row), 201);
  });

  app.get('/:id', async (c) => {
    const row = await mustFind(c.var.deps.db, idParam(c, 'id', 'Access key'));
    return c.json(await viewOne(c.var.deps, row));
  });

  app.patch('/:id', async (c) => {
    const id = idParam(c, 'id', 'Access key');
    const patch = await parseBody(c, accessKeyPatchSchema);
    const deps = c.var.deps;
    const current = await mustFind(deps.db, id);
    const row = await updateAccessKey(deps.db, id, patchOf(patch, current)).catch(
      conflictOnName(patch.name ?? current.name),
    );
    if (!row) throw AppError.notFound('Access key');
    await c.var.audit('access-key.update', `access-key:${id}`, { fields: Object.keys(patch) });
    await deps.onConfigChanged();
    return c.json(await viewOne(deps, row));
  });

  app.post('/:id/rotate', async (c) => {
    const id = idParam(c, 'id', 'Access key');
    const deps = c.var.deps;
    await mustFind(deps.db, id);
    const secret = freshSecret(deps);
    const row = await rotateAccessKey(deps.db, id, { keyHash: secret.keyHash, keyMasked: secret.keyMasked });
    if (!row) throw AppError.notFound('Access key');
    await c.var.audit('access-key.rotate', `access-key:${id}`, { name: row.name });
    // The old secret must stop at once: the gateways drop it with this snapshot.
    await deps.onConfigChanged();
    return c.json({ key: secret.key });
  });

  app.delete('/:id', async (c) => {
    const id = idParam(c, 'id', 'Access key');
    const deps = c.var.deps;
    const current = await mustFind(deps.db, id);
    if (!(await deleteAccessKey(deps.db, id))) throw AppError.notFound('Access key');
    await c.var.audit('access-key.delete', `access-key:${id}`, { name: current.name });
    await deps.onConfigChanged();
    return c.body(null, 204);
  });

  return app;
}
