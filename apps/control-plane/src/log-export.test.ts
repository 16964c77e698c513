import type { RequestLogRecord } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { CSV_COLUMNS, EXPORT_PAGE_SIZE, csvCell, logExportRoutes } from './log-export';
import type { ControlPlaneApp, Fixture } from './testing/fixture';
import { AUTH_KEY, createFixture } from './testing/fixture';
import { DESCRIBED, logRecord } from './testing/log-record';

let fx: Fixture;
let app: ControlPlaneApp;
beforeAll(async () => {
  fx = await createFixture();
  app = createApp(fx.deps);
  // The mount app.ts gets; once it has it, that one answers first (the same factory either way).
  app.route('/api/logs/export', logExportRoutes());
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function rec(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return logRecord(n, {
    ...DESCRIBED,
    time: new Date(T0 + n * 1000).toISOString(),
    groupId: 1,
    groupName: 'openai-main',
    durationMs: 120,
    ttfbMs: 40,
    requestBody: '{"secret":"request body"}',
    ...over,
  });
}

/** `GET` on the app (the fixture's requester expects JSON bodies). */
async function get(path: string, auth = true): Promise<Response> {
  return await app.request(path, { headers: auth ? { authorization: `Bearer ${AUTH_KEY}` } : {} }, {});
}

/** An RFC 4180 reader, written independently of the writer under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text.charAt(i + 1) === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text.charAt(i + 1) === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) throw new Error('the CSV does not end with CRLF');
  return rows;
}

/** The export as rows of named cells, the header checked. */
async function exportRows(query = ''): Promise<Array<Record<string, string>>> {
  const res = await get(`/api/logs/export${query}`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const [header, ...rows] = parseCsv(text);
  expect(header).toEqual([...CSV_COLUMNS]);
  return rows.map((r) => {
    expect(r).toHaveLength(CSV_COLUMNS.length);
    return Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i] ?? '']));
  });
}

describe('csvCell', () => {
  it('quotes cells holding commas, quotes or line breaks, doubling the quotes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(false)).toBe('false');
    expect(csvCell(-1)).toBe('-1');
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1'])(
    'defuses %j, which a spreadsheet would run as a formula',
    (value) => {
      expect(csvCell(value).replace(/^"/, '')).toMatch(/^'/);
    },
  );
});

describe('GET /api/logs/export', () => {
  it('answers a CSV attachment with a timestamped name', async () => {
    await writeRequestLogs(fx.db, [rec(1)]);
    const res = await get('/api/logs/export');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="keyway-logs-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.csv"$/,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('writes every column of a log, masked keys only and never the request body', async () => {
    await writeRequestLogs(fx.db, [
      rec(1, {
        parentGroupId: 9,
        parentGroupName: 'agg',
        statusCode: 429,
        success: false,
        retries: 2,
        stream: true,
        error: 'rate limited',
        cachedTokens: 4,
        costUsd: 0.00125,
        accessKeyId: 7,
        accessKeyName: 'team-a',
        translatedFrom: 'anthropic',
      }),
    ]);
    expect(await (await get('/api/logs/export')).text()).not.toContain('request body');
    expect((await exportRows())[0]).toEqual({
      time: new Date(T0 + 1000).toISOString(),
      requestId: 'req-1',
      groupName: 'openai-main',
      parentGroupName: 'agg',
      model: 'gpt-4o',
      statusCode: '429',
      success: 'false',
      durationMs: '120',
      ttfbMs: '40',
      stream: 'true',
      retries: '2',
      key: 'sk-te…wxyz',
      proxyKey: 'sk-pr…0001',
      clientIp: '10.0.0.1',
      promptTokens: '10',
      completionTokens: '20',
      cachedTokens: '4',
      costUsd: '0.00125',
      accessKeyId: '7',
      accessKeyName: 'team-a',
      translatedFrom: 'anthropic',
      error: 'rate limited',
    });
  });

  it('leaves missing values empty', async () => {
    await writeRequestLogs(fx.db, [
      rec(1, { model: null, keyMasked: null, ttfbMs: null, promptTokens: null, clientIp: null }),
    ]);
    expect((await exportRows())[0]).toMatchObject({
      model: '',
      key: '',
      ttfbMs: '',
      promptTokens: '',
      clientIp: '',
    });
  });

  it('escapes commas, quotes and line breaks so every row reads back intact', async () => {
    const error = 'upstream said: "no", then\r\nclosed, badly';
    await writeRequestLogs(fx.db, [rec(1, { error, model: 'a,b' })]);
    expect((await exportRows())[0]).toMatchObject({ error, model: 'a,b' });
  });

  it('defuses cells a spreadsheet would run as formulas', async () => {
    await writeRequestLogs(fx.db, [
      rec(1, {
        error: '=HYPERLINK("http://evil.example","click")',
        model: '+cmd',
        clientIp: '@SUM(1)',
        requestId: '-2+3',
      }),
    ]);
    const [row] = await exportRows();
    expect(row).toMatchObject({
      error: `'=HYPERLINK("http://evil.example","click")`,
      model: "'+cmd",
      clientIp: "'@SUM(1)",
      requestId: "'-2+3",
    });
  });

  it('applies the filters of the log list', async () => {
    await writeRequestLogs(fx.db, [
      rec(1),
      rec(2, { success: false, statusCode: 502 }),
      rec(3, { groupId: 2, groupName: 'claude' }),
      rec(4, { groupId: 3, groupName: 'sub', parentGroupId: 9, parentGroupName: 'agg' }),
    ]);
    const ids = async (q: string) => (await exportRows(q)).map((r) => r.requestId);
    expect(await ids('')).toEqual(['req-4', 'req-3', 'req-2', 'req-1']);
    expect(await ids('?groupId=1')).toEqual(['req-2', 'req-1']);
    expect(await ids('?groupId=9')).toEqual(['req-4']);
    expect(await ids('?result=error')).toEqual(['req-2']);
    expect(await ids('?search=req-3')).toEqual(['req-3']);
    expect(await ids('?page=2&pageSize=1')).toHaveLength(4);
    expect((await get('/api/logs/export?result=maybe')).status).toBe(400);
  });

  it('answers only the header when nothing matches', async () => {
    expect(await exportRows()).toEqual([]);
  });

  it('streams more than a page of rows in page-sized chunks, each row once, newest first', async () => {
    const total = EXPORT_PAGE_SIZE + 200;
    // Two distinct times only, so rows sharing a time straddle the page boundary.
    const all = Array.from({ length: total }, (_, n) =>
      rec(n + 1, { time: new Date(T0 + Math.floor(n / 700) * 1000).toISOString() }),
    );
    for (let i = 0; i < total; i += 500) await writeRequestLogs(fx.db, all.slice(i, i + 500));

    const res = await get('/api/logs/export');
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read())
      chunks.push(decoder.decode(r.value as Uint8Array));
    const linesPerChunk = chunks.map((c) => c.split('\r\n').length - 1);
    expect(linesPerChunk).toEqual([EXPORT_PAGE_SIZE + 1, 200]);

    const [, ...rows] = parseCsv(chunks.join(''));
    const ids = rows.map((r) => r[1]);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    const times = rows.map((r) => r[0] ?? '');
    expect([...times].sort().reverse()).toEqual(times);
  }, 30_000);

  it('requires the admin key', async () => {
    expect((await get('/api/logs/export', false)).status).toBe(401);
  });
});
