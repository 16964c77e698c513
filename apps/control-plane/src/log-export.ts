import { logQuerySchema } from '@keyway/contracts';
import type { ExportedLogRow, LogCursor } from '@keyway/db';
import { requestLogPageAfter } from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseQuery } from './http';
import { cpSecrets } from './secrets';
import type { SecretRegistry } from '@keyway/observability';

/** Rows read per database query while streaming an export. */
export const EXPORT_PAGE_SIZE = 1000;

/** `GET /api/logs/export` query: the list's filters; pagination parameters are accepted and ignored. */
export const logExportQuerySchema = logQuerySchema.omit({ page: true, pageSize: true });

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
  'cachedTokens',
  'costUsd',
  'accessKeyId',
  'accessKeyName',
  'translatedFrom',
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

function line(r: ExportedLogRow, secrets: SecretRegistry): string {
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
    r.cachedTokens,
    r.costUsd,
    r.accessKeyId,
    r.accessKeyName,
    r.translatedFrom,
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
    const filter = parseQuery(c, logExportQuerySchema);
    const { db, logger } = c.var.deps;
    const secrets = cpSecrets(c.var.deps);
    const encoder = new TextEncoder();
    let after: LogCursor | null = null;
    let header = csvRow(CSV_COLUMNS);
    const stream = new ReadableStream<Uint8Array>(
      {
        // One page per pull: nothing is read before the client asks, and memory stays at one page.
        async pull(controller) {
          try {
            // Keyset paging on (time, id) (see requestLogPageAfter): stable while new logs arrive.
            const page = await requestLogPageAfter(db, filter, after, EXPORT_PAGE_SIZE);
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
