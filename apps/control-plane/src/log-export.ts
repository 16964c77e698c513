import type { LogQuery } from '@keyway/contracts';
import { logQuerySchema } from '@keyway/contracts';
import type { Prisma } from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseQuery } from './http';
import { cpSecrets } from './secrets';
import type { SecretRegistry } from '@keyway/observability';

/** Rows read per database query while streaming an export. */
export const EXPORT_PAGE_SIZE = 1000;

/** The filters of `GET /api/logs` (everything but pagination). */
export type LogFilter = Omit<LogQuery, 'page' | 'pageSize'>;

/** `GET /api/logs/export` query: the list's filters; pagination parameters are accepted and ignored. */
export const logExportQuerySchema = logQuerySchema.omit({ page: true, pageSize: true });

/** The `where` of the `GET /api/logs` filters (the same semantics as the list, so an export matches it). */
export function logWhere(q: LogFilter): Prisma.RequestLogWhereInput {
  const search = q.search?.trim();
  return {
    ...(q.groupId ? { OR: [{ groupId: q.groupId }, { parentGroupId: q.groupId }] } : {}),
    ...(q.result ? { success: q.result === 'success' } : {}),
    ...(q.statusCode === undefined ? {} : { statusCode: q.statusCode }),
    ...(q.model ? { model: q.model } : {}),
    ...(q.keyId ? { keyId: q.keyId } : {}),
    ...(q.from || q.to
      ? { time: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lte: new Date(q.to) } : {}) } }
      : {}),
    ...(search
      ? {
          AND: [
            { OR: [{ requestId: search }, { error: { contains: search } }, { model: { contains: search } }] },
          ],
        }
      : {}),
  };
}

/** Column order of the CSV export. */
export const CSV_COLUMNS = [
  'time',
  'requestId',
  'groupName',
  'parentGroupName',
  'model',
  'statusCode',
  'success',
  'durationMs',
  'ttfbMs',
  'stream',
  'retries',
  'key',
  'proxyKey',
  'clientIp',
  'promptTokens',
  'completionTokens',
  'error',
] as const;

/** Cell starts a spreadsheet reads as a formula (tab and CR too: some spreadsheets skip them, then see `=`). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): null is empty; text a spreadsheet would run as a formula gets a leading `'`, since
 * log fields (errors, models, client IPs) carry text from callers and upstreams.
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line, CRLF-terminated as RFC 4180 says. */
export function csvRow(cells: ReadonlyArray<string | number | boolean | null>): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

const select = {
  id: true,
  time: true,
  requestId: true,
  groupName: true,
  parentGroupName: true,
  model: true,
  statusCode: true,
  success: true,
  durationMs: true,
  ttfbMs: true,
  stream: true,
  retries: true,
  keyMasked: true,
  proxyKeyMasked: true,
  clientIp: true,
  promptTokens: true,
  completionTokens: true,
  error: true,
} as const;

type ExportRow = Prisma.RequestLogGetPayload<{ select: typeof select }>;

function line(r: ExportRow, secrets: SecretRegistry): string {
  return csvRow([
    r.time.toISOString(),
    r.requestId,
    r.groupName,
    r.parentGroupName,
    r.model,
    r.statusCode,
    r.success,
    r.durationMs,
    r.ttfbMs,
    r.stream,
    r.retries,
    r.keyMasked,
    r.proxyKeyMasked,
    r.clientIp,
    r.promptTokens,
    r.completionTokens,
    secrets.maskNullable(r.error),
  ]);
}

/** `keyway-logs-2026-03-01T12-00-00Z.csv`: sortable, and no characters a file system refuses. */
function fileName(now: Date): string {
  return `keyway-logs-${now.toISOString().slice(0, 19).replace(/:/g, '-')}Z.csv`;
}

/** `GET /` (the request logs matching the `/api/logs` filters as a streamed CSV), mounted at `/api/logs/export`. */
export function logExportRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.get('/', (c) => {
    const where = logWhere(parseQuery(c, logExportQuerySchema));
    const { db, logger } = c.var.deps;
    const secrets = cpSecrets(c.var.deps);
    const encoder = new TextEncoder();
    let after: { time: Date; id: string } | null = null;
    let header = csvRow(CSV_COLUMNS);
    const stream = new ReadableStream<Uint8Array>(
      {
        // One page per pull: nothing is read before the client asks, and memory stays at one page.
        async pull(controller) {
          try {
            // Keyset paging on (time, id): stable while new logs arrive and cheap however deep the export goes,
            // unlike OFFSET; it also survives retention deleting the previous page's last row.
            const page: ExportRow[] = await db.requestLog.findMany({
              where: after
                ? {
                    AND: [
                      where,
                      { OR: [{ time: { lt: after.time } }, { time: after.time, id: { lt: after.id } }] },
                    ],
                  }
                : where,
              orderBy: [{ time: 'desc' }, { id: 'desc' }],
              take: EXPORT_PAGE_SIZE,
              select,
            });
            const text = header + page.map((r) => line(r, secrets)).join('');
            header = '';
            if (text !== '') controller.enqueue(encoder.encode(text));
            const last = page.at(-1);
            if (page.length < EXPORT_PAGE_SIZE || !last) controller.close();
            else after = { time: last.time, id: last.id };
          } catch (err) {
            // The 200 and the first rows may already be sent: all that is left is to cut the download short.
            logger.error({ err }, 'request log export failed');
            controller.error(err);
          }
        },
      },
      { highWaterMark: 0 },
    );
    return c.body(stream, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName(new Date())}"`,
    });
  });
  return app;
}
