import type { AlertChannel, AlertChannelCreate, AlertHistoryItem, AlertTestResult } from '@keyway/contracts';
import {
  ALERT_SEVERITY,
  alertChannelCreateSchema,
  alertChannelPatchSchema,
  paginationQuerySchema,
} from '@keyway/contracts';
import type { AlertTarget } from '@keyway/alerts';
import { alertChannelSecrets, deliverAlert, maskAlertUrl } from '@keyway/alerts';
import { AppError } from '@keyway/core';
import type { AlertChannelRecord, AlertHistoryRecord } from '@keyway/db';
import {
  createAlertChannel,
  deleteAlertChannel,
  findAlertChannel,
  listAlertChannels,
  listAlertHistoryPage,
  updateAlertChannel,
} from '@keyway/db';
import { Hono } from 'hono';
import type { ControlPlaneDeps, CpEnv } from './context';
import { idParam, isUniqueViolation, parseBody, parseQuery } from './http';
import { cpSecrets } from './secrets';

/** The channel opened: url and secret in plaintext, registered so no log line or response shows them. */
function openChannel(deps: ControlPlaneDeps, row: AlertChannelRecord): AlertTarget | null {
  try {
    const url = deps.keyCipher.open(row.urlSealed);
    const secret = row.secretSealed === null ? null : deps.keyCipher.open(row.secretSealed);
    register(deps, url, secret);
    return { id: row.id, name: row.name, type: row.type, url, secret, chatId: row.chatId };
  } catch {
    // Sealed with another ENCRYPTION_KEY: shown as "…" and not testable until the operator sets the URL again.
    return null;
  }
}

function register(deps: ControlPlaneDeps, url: string, secret: string | null): void {
  cpSecrets(deps).addAll(alertChannelSecrets(url, secret), 'alertChannel');
}

/** A channel as the API shows it: the URL as scheme and host, the secret as a flag. */
function view(deps: ControlPlaneDeps, row: AlertChannelRecord): AlertChannel {
  const opened = openChannel(deps, row);
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    url: opened ? maskAlertUrl(opened.url) : '…',
    hasSecret: row.secretSealed !== null,
    chatId: row.chatId,
    events: row.events,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function historyView(deps: ControlPlaneDeps, r: AlertHistoryRecord): AlertHistoryItem {
  const secrets = cpSecrets(deps);
  return {
    ...r,
    time: r.time.toISOString(),
    // Written by Keyway from scrubbed parts; masked once more on the way out like every stored text.
    message: secrets.maskText(r.message),
    error: secrets.maskNullable(r.error),
  };
}

function conflictOnName(name: string) {
  return (e: unknown): never => {
    if (isUniqueViolation(e))
      throw new AppError('CONFLICT', `An alert channel named '${name}' already exists`);
    throw e;
  };
}

async function mustFind(deps: ControlPlaneDeps, id: number): Promise<AlertChannelRecord> {
  const row = await findAlertChannel(deps.db, id);
  if (!row) throw AppError.notFound('Alert channel');
  return row;
}

const seal = (deps: ControlPlaneDeps, v: string | null) => (v === null ? null : deps.keyCipher.seal(v));

/** What the audit log keeps of a channel: never the URL or the secret. */
const auditOf = (c: Pick<AlertChannelCreate, 'name' | 'type' | 'events' | 'enabled'>) => ({
  name: c.name,
  type: c.type,
  events: c.events,
  enabled: c.enabled,
});

/** `/api/alerts`: channels (CRUD, test) and the history (API.md "Alerts"). */
export function alertRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/channels', async (c) => {
    const deps = c.var.deps;
    return c.json({ items: (await listAlertChannels(deps.db)).map((r) => view(deps, r)) });
  });

  app.post('/channels', async (c) => {
    const input = await parseBody(c, alertChannelCreateSchema);
    const deps = c.var.deps;
    register(deps, input.url, input.secret);
    const row = await createAlertChannel(deps.db, {
      name: input.name,
      type: input.type,
      urlSealed: deps.keyCipher.seal(input.url),
      secretSealed: seal(deps, input.secret),
      chatId: input.chatId,
      events: input.events,
      enabled: input.enabled,
    }).catch(conflictOnName(input.name));
    await c.var.audit('alert-channel.create', `alert-channel:${row.id}`, auditOf(input));
    return c.json(view(deps, row), 201);
  });

  app.get('/channels/:id', async (c) => {
    const deps = c.var.deps;
    return c.json(view(deps, await mustFind(deps, idParam(c, 'id', 'Alert channel'))));
  });

  app.patch('/channels/:id', async (c) => {
    const id = idParam(c, 'id', 'Alert channel');
    const patch = await parseBody(c, alertChannelPatchSchema);
    const deps = c.var.deps;
    const current = await mustFind(deps, id);
    const type = patch.type ?? current.type;
    const chatId = patch.chatId === undefined ? current.chatId : patch.chatId;
    if (type === 'telegram' && !chatId)
      throw AppError.validation([{ path: 'chatId', message: 'a telegram channel needs chatId' }]);
    if (patch.url !== undefined) register(deps, patch.url, null);
    if (patch.secret) register(deps, patch.secret, null);
    const row = await updateAlertChannel(deps.db, id, {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.type === undefined ? {} : { type: patch.type }),
      ...(patch.url === undefined ? {} : { urlSealed: deps.keyCipher.seal(patch.url) }),
      ...(patch.secret === undefined ? {} : { secretSealed: seal(deps, patch.secret) }),
      ...(patch.chatId === undefined ? {} : { chatId: patch.chatId }),
      ...(patch.events === undefined ? {} : { events: patch.events }),
      ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
    }).catch(conflictOnName(patch.name ?? current.name));
    if (!row) throw AppError.notFound('Alert channel');
    await c.var.audit('alert-channel.update', `alert-channel:${id}`, { fields: Object.keys(patch) });
    return c.json(view(deps, row));
  });

  app.delete('/channels/:id', async (c) => {
    const id = idParam(c, 'id', 'Alert channel');
    const deps = c.var.deps;
    const current = await mustFind(deps, id);
    if (!(await deleteAlertChannel(deps.db, id))) throw AppError.notFound('Alert channel');
    await c.var.audit('alert-channel.delete', `alert-channel:${id}`, { name: current.name });
    return c.body(null, 204);
  });

  app.post('/channels/:id/test', async (c) => {
    const id = idParam(c, 'id', 'Alert channel');
    const deps = c.var.deps;
    const row = await mustFind(deps, id);
    const target = openChannel(deps, row);
    if (!target)
      throw new AppError(
        'CONFLICT',
        'The channel was stored with another ENCRYPTION_KEY: set its url (and secret) again',
      );
    const event = row.events[0] ?? 'task.finished';
    // One attempt: the operator is waiting for the answer, and a retry would hide what went wrong.
    const r = await deliverAlert(
      target,
      {
        event,
        time: new Date().toISOString(),
        severity: ALERT_SEVERITY[event],
        message: `Keyway test alert for channel '${row.name}': if you can read this, the channel works`,
        details: { test: true, suppressed: 0 },
      },
      { attempts: 1 },
    );
    await c.var.audit('alert-channel.test', `alert-channel:${id}`, {
      delivered: r.delivered,
      statusCode: r.statusCode,
    });
    const result: AlertTestResult = {
      delivered: r.delivered,
      statusCode: r.statusCode,
      error: cpSecrets(deps).maskNullable(r.error),
    };
    return c.json(result);
  });

  app.get('/history', async (c) => {
    const q = parseQuery(c, paginationQuerySchema);
    const deps = c.var.deps;
    const { rows, total } = await listAlertHistoryPage(deps.db, {
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    return c.json({
      items: rows.map((r) => historyView(deps, r)),
      total,
      page: q.page,
      pageSize: q.pageSize,
    });
  });

  return app;
}
