import type { AlertChannelType, AlertEvent } from '@keyway/contracts';
import { alertChannelTypeSchema, alertEventSchema } from '@keyway/contracts';
import type { DbClient } from '../client';
import type {
  AlertChannel as AlertChannelRow,
  AlertHistory as AlertHistoryRow,
  Prisma,
} from '../generated/sqlite/client';

/** A channel as stored: `url` and `secret` as the key cipher sealed them (open them only to deliver). */
export interface AlertChannelRecord {
  id: number;
  name: string;
  type: AlertChannelType;
  urlSealed: string;
  secretSealed: string | null;
  chatId: string | null;
  events: AlertEvent[];
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of a new channel (`url`/`secret` already sealed). */
export interface NewAlertChannelRow {
  name: string;
  type: AlertChannelType;
  urlSealed: string;
  secretSealed: string | null;
  chatId: string | null;
  events: readonly AlertEvent[];
  enabled: boolean;
}

/** The columns a patch changes. */
export type AlertChannelRowPatch = Partial<NewAlertChannelRow>;

/** One history row as stored. */
export interface AlertHistoryRecord {
  id: number;
  time: Date;
  channelId: number | null;
  channelName: string | null;
  event: AlertEvent;
  severity: 'info' | 'warning' | 'critical';
  subject: string;
  message: string;
  status: 'sent' | 'failed' | 'suppressed';
  suppressed: number;
  statusCode: number | null;
  error: string | null;
  details: Record<string, unknown> | null;
}

/** A history row to insert. */
export type NewAlertHistoryRow = Omit<AlertHistoryRecord, 'id'>;

// A stored value from another version reads as the nearest thing this one knows rather than failing the list.
function toChannel(r: AlertChannelRow): AlertChannelRecord {
  const events = Array.isArray(r.events)
    ? r.events.flatMap((e) => {
        const p = alertEventSchema.safeParse(e);
        return p.success ? [p.data] : [];
      })
    : [];
  return {
    id: r.id,
    name: r.name,
    type: alertChannelTypeSchema.catch('webhook').parse(r.type),
    urlSealed: r.url,
    secretSealed: r.secret,
    chatId: r.chatId,
    events,
    enabled: r.enabled,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function toHistory(r: AlertHistoryRow): AlertHistoryRecord {
  const details = r.details;
  return {
    id: r.id,
    time: r.time,
    channelId: r.channelId,
    channelName: r.channelName,
    event: alertEventSchema.catch('task.finished').parse(r.event),
    severity: r.severity === 'critical' || r.severity === 'info' ? r.severity : 'warning',
    subject: r.subject,
    message: r.message,
    status: r.status === 'sent' || r.status === 'suppressed' ? r.status : 'failed',
    suppressed: r.suppressed,
    statusCode: r.statusCode,
    error: r.error,
    details: details !== null && typeof details === 'object' && !Array.isArray(details) ? details : null,
  };
}

function channelData(row: AlertChannelRowPatch) {
  return {
    ...(row.name === undefined ? {} : { name: row.name }),
    ...(row.type === undefined ? {} : { type: row.type }),
    ...(row.urlSealed === undefined ? {} : { url: row.urlSealed }),
    ...(row.secretSealed === undefined ? {} : { secret: row.secretSealed }),
    ...(row.chatId === undefined ? {} : { chatId: row.chatId }),
    ...(row.events === undefined ? {} : { events: [...row.events] }),
    ...(row.enabled === undefined ? {} : { enabled: row.enabled }),
  };
}

/** Stores a new channel; rejects with a unique violation (P2002) when the name is taken. */
export async function createAlertChannel(db: DbClient, row: NewAlertChannelRow): Promise<AlertChannelRecord> {
  const data = channelData(row) as Prisma.AlertChannelCreateInput;
  return toChannel(await db.alertChannel.create({ data }));
}

/** Every channel, oldest first. */
export async function listAlertChannels(db: DbClient): Promise<AlertChannelRecord[]> {
  return (await db.alertChannel.findMany({ orderBy: { id: 'asc' } })).map(toChannel);
}

/** One channel, or null. */
export async function findAlertChannel(db: DbClient, id: number): Promise<AlertChannelRecord | null> {
  const r = await db.alertChannel.findUnique({ where: { id } });
  return r ? toChannel(r) : null;
}

/** Changes a channel; null when there is none with that id. */
export async function updateAlertChannel(
  db: DbClient,
  id: number,
  patch: AlertChannelRowPatch,
): Promise<AlertChannelRecord | null> {
  const { count } = await db.alertChannel.updateMany({ where: { id }, data: channelData(patch) });
  return count === 0 ? null : findAlertChannel(db, id);
}

/** Deletes a channel (its history stays, naming it); false when there was none. */
export async function deleteAlertChannel(db: DbClient, id: number): Promise<boolean> {
  const { count } = await db.alertChannel.deleteMany({ where: { id } });
  return count > 0;
}

/** Records one alert of one channel. */
export async function insertAlertHistory(db: DbClient, row: NewAlertHistoryRow): Promise<void> {
  await db.alertHistory.create({
    data: {
      ...row,
      details: (row.details ?? undefined) as Prisma.InputJsonValue | undefined,
    },
  });
}

/** One page of the alert history, newest first, and how many rows there are. */
export async function listAlertHistoryPage(
  db: DbClient,
  page: { skip: number; take: number },
): Promise<{ rows: AlertHistoryRecord[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.alertHistory.findMany({
      orderBy: [{ time: 'desc' }, { id: 'desc' }],
      skip: page.skip,
      take: page.take,
    }),
    db.alertHistory.count(),
  ]);
  return { rows: rows.map(toHistory), total };
}

/** The de-duplication key: one channel, one event, one subject. */
export interface AlertDedupKey {
  channelId: number;
  event: AlertEvent;
  subject: string;
}

/** Whether an alert of this key was sent at or after `since`. */
export async function alertSentSince(db: DbClient, q: AlertDedupKey & { since: Date }): Promise<boolean> {
  const row = await db.alertHistory.findFirst({
    where: {
      channelId: q.channelId,
      event: q.event,
      subject: q.subject,
      status: 'sent',
      time: { gte: q.since },
    },
    select: { id: true },
  });
  return row !== null;
}

/** Alerts of this key suppressed after the last one sent (all of them when none was ever sent). */
export async function countSuppressedSinceSent(db: DbClient, q: AlertDedupKey): Promise<number> {
  const where = { channelId: q.channelId, event: q.event, subject: q.subject };
  const last = await db.alertHistory.findFirst({
    where: { ...where, status: 'sent' },
    orderBy: { id: 'desc' },
    select: { id: true },
  });
  return db.alertHistory.count({
    where: { ...where, status: 'suppressed', ...(last ? { id: { gt: last.id } } : {}) },
  });
}

/** What an alert names a key by: its masked value and its group's name (absent: the key is gone). */
export async function alertKeyLabels(
  db: DbClient,
  keyIds: readonly number[],
): Promise<Map<number, { keyMasked: string; groupName: string }>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db.apiKey.findMany({
    where: { id: { in: [...keyIds] } },
    select: { id: true, keyMasked: true, group: { select: { name: true } } },
  });
  return new Map(rows.map((r) => [r.id, { keyMasked: r.keyMasked, groupName: r.group.name }]));
}
