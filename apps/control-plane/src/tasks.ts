import { AppError } from '@keyway/core';
import { findGroupType, findKeyValue } from '@keyway/db';
import type { JobQueue } from '@keyway/queue';
import { JOBS } from '@keyway/queue';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ControlPlaneDeps, CpEnv } from './context';
import { idParam, parseBody, parseQuery } from './http';
import { localTasksOf } from './local-tasks';

function queueOf(deps: ControlPlaneDeps): JobQueue {
  if (!deps.queue) throw new AppError('UNAVAILABLE', 'Background tasks are not available in this deployment');
  return deps.queue;
}

/** Background tasks: key validation, large imports, their progress; and the one-key test. */
export function taskRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/tasks', async (c) => {
    const { active } = parseQuery(c, z.object({ active: z.enum(['true', 'false']).optional() }));
    const items = await queueOf(c.var.deps).list({ active: active === 'true' });
    // Tasks this replica runs itself (a GPT-Load import) first: they are the newest an operator started here.
    return c.json({ items: [...localTasksOf(c.var.deps).list(active === 'true'), ...items] });
  });

  app.get('/tasks/:taskId', async (c) => {
    const id = c.req.param('taskId');
    const local = localTasksOf(c.var.deps).status(id);
    if (local) return c.json(local);
    const status = /^[\w.:-]{1,200}$/.test(id) ? await queueOf(c.var.deps).status(id) : null;
    if (!status) throw AppError.notFound('Task');
    return c.json(status);
  });

  app.post('/groups/:id/keys/validate', async (c) => {
    const groupId = idParam(c, 'id', 'Group');
    const { status } = await parseBody(
      c,
      z.strictObject({ status: z.enum(['invalid', 'active', 'all']).default('invalid') }),
    );
    const deps = c.var.deps;
    const type = await findGroupType(deps.db, groupId);
    if (type === null) throw AppError.notFound('Group');
    if (type !== 'standard')
      throw AppError.validation([{ path: 'groupId', message: 'an aggregate group has no keys of its own' }]);
    const { id } = await queueOf(deps).enqueue(JOBS.keyValidate, { groupId, status });
    await c.var.audit('keys.validate', `group:${groupId}`, { status, taskId: id });
    return c.json({ taskId: id }, 202);
  });

  app.post('/keys/:keyId/test', async (c) => {
    const keyId = idParam(c, 'keyId', 'Key');
    const deps = c.var.deps;
    if (!deps.testKey) throw new AppError('UNAVAILABLE', 'Key tests are not available in this deployment');
    const row = await findKeyValue(deps.db, keyId);
    if (!row) throw AppError.notFound('Key');
    const result = await deps.testKey({
      groupId: row.groupId,
      keyId: row.id,
      value: deps.keyCipher.open(row.keyValue),
    });
    await c.var.audit('key.test', `key:${keyId}`, { valid: result.valid });
    return c.json(result);
  });

  return app;
}
