import type { KeyStatus } from '@keyway/contracts';
import {
  noNul,
  NUL_MESSAGE,
  keyLimitsSchema,
  keyListQuerySchema,
  keysAddSchema,
  keysDeleteSchema,
  keyStatusSchema,
  maskProxyUrl,
  proxyForKey,
  splitKeys,
} from '@keyway/contracts';
import { AppError } from '@keyway/core';
import {
  addKeys,
  createPacer,
  deleteKeys,
  findGroupWithMembers,
  findGroupType,
  findKey,
  keyIdsWithHashes,
  keyIdsWithStatus,
  keyStatuses,
  keyValuesAfter,
  listKeys,
  mapSliced,
  restoreKey,
  updateKey,
  yieldToLoop,
} from '@keyway/db';
import { parseModelCooling, sealAll } from '@keyway/keypool';
import type { ModelCoolingMap, PoolKeyRecord } from '@keyway/keypool';
import { JOBS } from '@keyway/queue';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ControlPlaneDeps, CpEnv } from './context';
import { idParam, parseBody, parseQuery } from './http';
import { keyPacingUsage } from './key-pacing-usage';
import { groupJson } from './group-view';
import { cpSecrets } from './secrets';

const CHUNK = 500;
/** Imports larger than this run as a background task (202 + task id). */
export const SYNC_IMPORT_LIMIT = 10_000;
/** Keys read per export page: one page is a few milliseconds of reading and opening. */
const EXPORT_PAGE = 250;
/** Characters of pasted key text (or entries of a key array) split per slice: about a millisecond each. */
const SPLIT_SLICE = 64 * 1024;

/**
 * `splitKeys` in slices that yield to the event loop, same result: 100,000 pasted keys are ~100 ms of splitting,
 * which the gateway in this process must not wait for in one piece. Text is cut at separators only.
 */
export async function splitKeysSliced(input: string | string[]): Promise<string[]> {
  const keys = new Set<string>();
  const pacer = createPacer();
  const sep = /[\s,;]/g;
  for (let start = 0; start < input.length;) {
    let part: string | string[];
    if (typeof input === 'string') {
      sep.lastIndex = Math.min(input.length, start + SPLIT_SLICE);
      const end = sep.exec(input)?.index ?? input.length;
      part = input.slice(start, end);
      start = end;
    } else {
      part = input.slice(start, start + SPLIT_SLICE / 16);
      start += part.length;
    }
    for (const k of splitKeys(part)) keys.add(k);
    if (pacer.due()) await pacer.pause();
  }
  return [...keys];
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface KeyRow {
  id: number;
  groupId: number;
  keyValue: string;
  keyMasked: string;
  status: string;
  failureCount: number;
  requestCount: number;
  lastUsedAt: Date | null;
  lastError: string | null;
  cooldownUntil: Date | null;
  /** JSON `{ [model]: { until, reason } }` as stored; read tolerantly. */
  modelCooling: unknown;
  notes: string;
  createdAt: Date;
}

/** A key's model coolings as the API shows them: only those still running, soonest end first. */
function modelCoolingView(m: ModelCoolingMap | undefined, deps: ControlPlaneDeps, now = Date.now()) {
  if (!m) return [];
  const secrets = cpSecrets(deps);
  return Object.entries(m)
    .filter(([, e]) => e.until > now)
    .sort((a, b) => a[1].until - b[1].until)
    .map(([model, e]) => ({
      model,
      until: new Date(e.until).toISOString(),
      reason: secrets.maskText(e.reason),
    }));
}

/**
 * `proxy`: the egress proxy of the group's pool the key is pinned to (masked), as the gateways pick it while no
 * proxy is penalised; absent when the group has no pool.
 */
function keyProxy(pool: readonly string[], keyId: number): { proxy?: string } {
  const proxy = proxyForKey(pool, keyId);
  return proxy === null ? {} : { proxy: maskProxyUrl(proxy) };
}

/** A key row overlaid with its live state from the pool (database copies lag behind the gateways). */
function keyView(row: KeyRow, deps: ControlPlaneDeps) {
  const live = deps.keyPool.health(row.groupId, row.id);
  return {
    id: row.id,
    groupId: row.groupId,
    key: row.keyMasked,
    status: (live?.status ?? row.status) as KeyStatus,
    failureCount: live?.failureCount ?? row.failureCount,
    requestCount: row.requestCount,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    // An upstream's words: masked like every text that leaves the process.
    lastError: cpSecrets(deps).maskNullable(live?.lastError ?? row.lastError),
    cooldownUntil: live
      ? live.cooldownUntil
        ? new Date(live.cooldownUntil).toISOString()
        : null
      : (row.cooldownUntil?.toISOString() ?? null),
    modelCooling: modelCoolingView(live ? live.modelCooling : parseModelCooling(row.modelCooling), deps),
    notes: row.notes,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Reads stored keys into pool records (decrypting them). */
export function toPoolRecord(row: KeyRow, deps: Pick<ControlPlaneDeps, 'keyCipher'>): PoolKeyRecord {
  return {
    id: row.id,
    groupId: row.groupId,
    value: deps.keyCipher.open(row.keyValue),
    status: keyStatusSchema.catch('active').parse(row.status),
    failureCount: row.failureCount,
    cooldownUntil: row.cooldownUntil?.getTime() ?? null,
    lastError: row.lastError,
    // Persisted coolings survive a cold start of the pool like the rest of the key's health.
    modelCooling: parseModelCooling(row.modelCooling) ?? null,
  };
}

async function standardGroup(deps: ControlPlaneDeps, id: number): Promise<void> {
  const type = await findGroupType(deps.db, id);
  if (type === null) throw AppError.notFound('Group');
  if (type !== 'standard')
    throw AppError.validation([{ path: 'groupId', message: 'an aggregate group has no keys of its own' }]);
}

/** Key routes: `/api/groups/{id}/keys…` and `/api/keys/{keyId}`. */
export function keyRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.post('/groups/:id/keys', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const input = await parseBody(c, keysAddSchema);
    const deps = c.var.deps;
    await standardGroup(deps, groupId);
    const values = await splitKeysSliced(input.keys);
    const tooLong = values.findIndex((v) => v.length > 4096);
    if (tooLong >= 0)
      throw AppError.validation([
        { path: 'keys', message: `key #${tooLong + 1} is longer than 4096 characters` },
      ]);
    if (values.length === 0)
      throw AppError.validation([{ path: 'keys', message: 'no keys found in the input' }]);
    if (values.length > SYNC_IMPORT_LIMIT && deps.queue) {
      // Large imports run in the background with progress (GET /api/tasks/{id}); sealed before queuing, off
      // this thread: sealing 100,000 keys is seconds of CPU, and its garbage long GC pauses, that the gateway
      // in this process must not wait for.
      const { id } = await deps.queue.enqueue(JOBS.keyImport, {
        groupId,
        keys: await sealAll(deps.keyCipher, values),
      });
      await c.var.audit('keys.import', `group:${groupId}`, { keys: values.length, taskId: id });
      return c.json({ taskId: id }, 202);
    }
    const result = await addKeys(deps, groupId, values);
    await c.var.audit('keys.add', `group:${groupId}`, { added: result.added, ignored: result.ignored });
    return c.json(result);
  });

  app.get('/groups/:id/keys', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const q = parseQuery(c, keyListQuerySchema);
    const deps = c.var.deps;
    const group = await findGroupWithMembers(deps.db, groupId);
    if (!group) throw AppError.notFound('Group');
    if (q.status) {
      // Reading the pool's stats returns keys whose cooldown ended to rotation (a state change to persist).
      deps.keyPool.stats(groupId);
      await deps.flushKeyStates?.();
    }
    const search = q.search?.trim();
    const { rows, total } = await listKeys(
      deps.db,
      {
        groupId,
        status: q.status,
        search: search ? { keyHash: deps.keyCipher.hash(search), notes: search } : undefined,
      },
      { skip: (q.page - 1) * q.pageSize, take: q.pageSize },
    );
    const parsed = keyLimitsSchema.nullable().safeParse(group.keyLimits ?? null);
    const usage = await keyPacingUsage(
      deps,
      {
        channel: group.channel,
        keyLimits: parsed.success ? parsed.data : null,
        dailyResetTimeZone: group.dailyResetTimeZone,
      },
      rows.map((r) => r.id),
    );
    const { proxyPool } = groupJson(group);
    const items = rows.map((r) => {
      const u = usage.get(r.id);
      const view = { ...keyView(r, deps), ...keyProxy(proxyPool, r.id) };
      return u ? { ...view, usage: u } : view;
    });
    return c.json({ items, total, page: q.page, pageSize: q.pageSize });
  });

  app.delete('/groups/:id/keys', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const input = await parseBody(c, keysDeleteSchema);
    const deps = c.var.deps;
    await standardGroup(deps, groupId);
    let ids: number[];
    if ('ids' in input) ids = input.ids;
    else if ('status' in input) {
      deps.keyPool.stats(groupId);
      await deps.flushKeyStates?.();
      ids = await keyIdsWithStatus(deps.db, groupId, input.status);
    } else {
      const values = await splitKeysSliced(input.keys);
      const hashes = await mapSliced(values, (k) => deps.keyCipher.hash(k));
      ids = [];
      for (const part of chunks(hashes)) {
        ids.push(...(await keyIdsWithHashes(deps.db, groupId, part)));
        await yieldToLoop();
      }
    }
    let deleted = 0;
    for (const part of chunks(ids)) {
      deleted += await deleteKeys(deps.db, groupId, part);
      // Prisma's SQLite driver is synchronous: without a turn here the whole loop would hold the event loop.
      await yieldToLoop();
    }
    await deps.keyPool.remove(groupId, ids);
    await c.var.audit('keys.delete', `group:${groupId}`, { deleted });
    return c.json({ deleted });
  });

  app.get('/groups/:id/keys/export', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const { status } = parseQuery(c, z.object({ status: keyStatusSchema.optional() }));
    const deps = c.var.deps;
    await standardGroup(deps, groupId);
    if (status) {
      deps.keyPool.stats(groupId);
      await deps.flushKeyStates?.();
    }
    await c.var.audit('keys.export', `group:${groupId}`, { status: status ?? 'all' });
    // The one place plaintext keys leave the server: authenticated, audited, streamed page by page. Pages are
    // small and opened in slices, with a turn of the event loop before each: a fast reader pulls the next page
    // at once, and the gateway in the same process must get its turn in between.
    const encoder = new TextEncoder();
    const pacer = createPacer();
    let cursor = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await yieldToLoop();
        const rows = await keyValuesAfter(deps.db, groupId, cursor, EXPORT_PAGE, status);
        if (rows.length === 0) {
          controller.close();
          return;
        }
        cursor = (rows[rows.length - 1] as { id: number }).id;
        const lines = await mapSliced(rows, (r) => `${deps.keyCipher.open(r.keyValue)}\n`, pacer);
        controller.enqueue(encoder.encode(lines.join('')));
      },
    });
    return new Response(body, {
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'content-disposition': `attachment; filename="keys-group-${groupId}${status ? `-${status}` : ''}.txt"`,
        'cache-control': 'no-store',
      },
    });
  });

  app.post('/groups/:id/keys/restore', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const input = await parseBody(
      c,
      z.strictObject({ ids: z.array(z.number().int().positive()).max(100_000).optional() }),
    );
    const deps = c.var.deps;
    await standardGroup(deps, groupId);
    const rows = await keyStatuses(deps.db, groupId, input.ids);
    let restored = 0;
    for (const r of rows) {
      const live = deps.keyPool.health(groupId, r.id)?.status ?? r.status;
      if (live !== 'invalid' && live !== 'cooling') continue;
      deps.keyPool.setStatus(groupId, r.id, 'active', 'manual');
      await restoreKey(deps.db, r.id);
      restored++;
    }
    await c.var.audit('keys.restore', `group:${groupId}`, { restored });
    return c.json({ restored });
  });

  app.patch('/keys/:keyId', async (c) => {
    const keyId = idParam(c, 'keyId', 'Key');
    const input = await parseBody(
      c,
      z.strictObject({
        notes: z.string().max(1000).refine(noNul, NUL_MESSAGE).optional(),
        status: z.enum(['active', 'disabled']).optional(),
      }),
    );
    const deps = c.var.deps;
    const row = await findKey(deps.db, keyId);
    if (!row) throw AppError.notFound('Key');
    if (input.status) deps.keyPool.setStatus(row.groupId, keyId, input.status, 'manual');
    const updated = await updateKey(deps.db, keyId, { notes: input.notes?.trim(), status: input.status });
    await c.var.audit('key.update', `key:${keyId}`, { fields: Object.keys(input) });
    const group = await findGroupWithMembers(deps.db, row.groupId);
    const pool = group ? groupJson(group).proxyPool : [];
    return c.json({ ...keyView(updated, deps), ...keyProxy(pool, keyId) });
  });

  return app;
}
