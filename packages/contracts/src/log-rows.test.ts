import { describe, expect, it } from 'vitest';
import {
  LOG_COLUMNS,
  ROW_ELLIPSIS,
  attemptsFromRow,
  LOG_ROWS_JSON_HEAD,
  LOG_ROWS_JSON_TAIL,
  logRowsOf,
  logRowText,
  logRowsSchema,
  maskFromRow,
  toLogRow,
} from './log-rows';
import type { Attempt, RequestLogRecord } from './logs';
import { attemptSchema, requestLogRecordSchema } from './logs';

function record(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    id: `01a24c06-d63a-7030-b180-6ccb8052${String(n).padStart(4, '0')}`,
    requestId: `req-${n}`,
    time: '2026-12-06T10:00:00.000Z',
    groupId: 1,
    groupName: 'group "one"\r\n',
    parentGroupId: 4,
    parentGroupName: 'agg',
    keyId: 3,
    keyMasked: 'sk-ab…wxyz',
    proxyKeyMasked: 'kw-pr…0001',
    model: 'gpt-4o-mini',
    statusCode: 429,
    success: false,
    durationMs: 12.5,
    ttfbMs: null,
    stream: true,
    retries: 1,
    attempts: [
      {
        keyId: 3,
        key: 'sk-ab…wxyz',
        upstreamUrl: 'https://api.example.com',
        statusCode: 429,
        class: 'rate',
        durationMs: 4,
        error: 'slow down 😀',
        model: 'gpt-4o-mini',
      },
    ],
    error: 'rate limited',
    clientIp: '::1',
    requestPath: '/v1/chat/completions?x=1',
    promptTokens: 10,
    completionTokens: 2,
    cachedTokens: 1,
    costUsd: 0.0000213,
    accessKeyId: 9,
    accessKeyName: 'team-a',
    translatedFrom: 'anthropic',
    requestBody: '{"a":1}',
    ...over,
  };
}

/** LogRows as a queue carries them: JSON text. */
const overTheWire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('log rows', () => {
  it('carry every field of a record, in LOG_COLUMNS order, and read back to the same records', () => {
    const r = record(1);
    const row = toLogRow(r);
    // Masks carry ROW_ELLIPSIS for their `…`; everything else is the record's value as it is.
    expect(row[8]).toBe(`sk-ab${ROW_ELLIPSIS}wxyz`);
    expect(row[9]).toBe(`kw-pr${ROW_ELLIPSIS}0001`);
    expect(row[17][0]!.key).toBe(`sk-ab${ROW_ELLIPSIS}wxyz`);
    const back = [...row];
    back[8] = maskFromRow(row[8]);
    back[9] = maskFromRow(row[9]);
    back[17] = attemptsFromRow(structuredClone(row[17]));
    expect(back).toEqual(LOG_COLUMNS.map((c) => r[c]));
    const records = [r, record(2, { keyId: null, attempts: [], translatedFrom: null })];
    expect(logRowsSchema.parse(overTheWire(logRowsOf(records)))).toEqual(records);
  });

  it('are read by column name: another order, or a column this reader does not know, is read right', () => {
    const r = record(3);
    const columns = [...LOG_COLUMNS].reverse();
    const rows = [
      [...columns.map((c) => r[c]), 'later'],
      [...columns.map((c) => r[c]), 'later'],
    ];
    const parsed = logRowsSchema.parse(overTheWire({ columns: [...columns, 'addedLater'], rows }));
    expect(parsed).toEqual([r, r]);
  });

  it('refuse a row of another length, a missing field, a wrong type, and odd column names', () => {
    const sent = overTheWire(logRowsOf([record(4)])) as { columns: string[]; rows: unknown[][] };
    const bad = (v: unknown) => logRowsSchema.safeParse(v).success;
    expect(bad({ ...sent, rows: [sent.rows[0]!.slice(1)] })).toBe(false);
    expect(bad({ columns: sent.columns.slice(1), rows: [sent.rows[0]!.slice(1)] })).toBe(false);
    expect(bad({ ...sent, rows: [sent.rows[0]!.map((v, i) => (i === 3 ? 'one' : v))] })).toBe(false);
    for (const name of ['__proto__', 'a b', '', 'x'.repeat(65), 'a\r\nb'])
      expect(bad({ columns: [...sent.columns, name], rows: [[...sent.rows[0]!, 1]] }), name).toBe(false);
    expect(bad({ columns: sent.columns, rows: [] })).toBe(false);
    expect(Object.getPrototypeOf(logRowsSchema.parse(sent)[0])).toBe(Object.prototype);
  });

  it("copy what they change: a record's masks and attempts stay as they were, and read back equal", () => {
    const r = record(5);
    r.attempts[0]!.proxy = 'http://…@proxy.example:8080';
    const before = structuredClone(r);
    const json = JSON.stringify(logRowsOf([r, r]));
    expect(json).not.toContain('…');
    expect(r).toEqual(before);
    expect(logRowsSchema.parse(JSON.parse(json))).toEqual([before, before]);
    // Built once per mask (a bounded cache): the same string comes back.
    expect(toLogRow(r)[8]).toBe(toLogRow(record(6))[8]);
  });

  it('copy every field of an attempt whose mask changes (a field added to the schema must be added there)', () => {
    const full: Required<Attempt> = {
      keyId: 1,
      key: 'sk-ab…wxyz',
      upstreamUrl: 'https://u',
      statusCode: 200,
      class: 'ok',
      durationMs: 1,
      error: null,
      proxy: 'http://…@p:1',
      model: 'm',
    };
    expect(Object.keys(full).sort()).toEqual(Object.keys(attemptSchema.shape).sort());
    const [copy] = toLogRow(record(7, { attempts: [full] }))[17];
    expect(Object.keys(copy!)).toEqual(Object.keys(full));
    expect(attemptsFromRow([copy])).toEqual([full]);
  });

  it('leave values without a mask alone, and read masks of an older producer (a real `…`) as they are', () => {
    const r = record(8, {
      keyMasked: null,
      proxyKeyMasked: 'short',
      attempts: [{ ...record(8).attempts[0]!, key: null }],
    });
    const row = toLogRow(r);
    expect(row[8]).toBeNull();
    expect(row[9]).toBe('short');
    expect(row[17]).toBe(r.attempts); // nothing to change: not copied
    const older = { columns: [...LOG_COLUMNS], rows: [LOG_COLUMNS.map((c) => record(9)[c])] };
    expect(logRowsSchema.parse(JSON.parse(JSON.stringify(older)))).toEqual([record(9)]);
  });

  it('touch only masks: U+0001 and `…` sent by a caller in other fields (model, path, error, body) arrive as sent', () => {
    const odd = '\u0001x…y\u0001\r\n';
    const r = record(10, {
      model: odd,
      requestPath: `/v1/${odd}`,
      error: odd,
      requestBody: odd,
      groupName: odd,
    });
    r.attempts[0]!.error = odd;
    const [back] = logRowsSchema.parse(JSON.parse(JSON.stringify(logRowsOf([r]))));
    expect(back).toEqual(r);
  });

  it('read back as the records from a head, the rows as a JSON array of their texts, and a tail', () => {
    const records = Array.from({ length: 40 }, (_, i) =>
      record(
        30 + i,
        i === 5 ? { error: 'quote " backslash \\ newline \n – ✓', requestBody: 'x'.repeat(3000) } : {},
      ),
    );
    const texts = records.map(logRowText);
    for (const n of [1, 2, 7, 40]) {
      const json = `${LOG_ROWS_JSON_HEAD}[${texts.slice(0, n).join(',')}]${LOG_ROWS_JSON_TAIL}`;
      expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(logRowsOf(records.slice(0, n)))));
      expect(logRowsSchema.parse(JSON.parse(json))).toEqual(records.slice(0, n));
    }
  });

  it('check each value of a row exactly as the record schema does (a seeded fuzz against the schema itself)', () => {
    // What the schema makes of a row read by name: the reference the hand-written checks must match.
    const bySchema = (row: unknown[]) => {
      const named: Record<string, unknown> = {};
      LOG_COLUMNS.forEach((c, i) => (named[c] = structuredClone(row[i])));
      named.keyMasked = maskFromRow(named.keyMasked);
      named.proxyKeyMasked = maskFromRow(named.proxyKeyMasked);
      attemptsFromRow(named.attempts);
      return requestLogRecordSchema.safeParse(named);
    };
    // Values a corrupt or hostile job could hold: every JSON type, edge numbers, enum look-alikes.
    const odd: unknown[] = [
      null,
      0,
      -0,
      1,
      -7,
      1.5,
      2 ** 53,
      2 ** 53 - 1,
      -(2 ** 53),
      1e308,
      '',
      'x',
      '1',
      'ok',
      'rate',
      'openai',
      'anthropic',
      'gemini',
      'constructor',
      '__proto__',
      true,
      false,
      [],
      [1],
      {},
      { a: 1 },
      [{}],
    ];
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const attemptKeys = [...Object.keys(attemptSchema.shape), 'extra', '__proto__'];
    const base = overTheWire(logRowsOf([record(20)])) as { columns: string[]; rows: unknown[][] };
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const row = structuredClone(base.rows[0]!);
      if (rand(4) === 0) {
        const at = rand(row.length);
        row[at] = odd[rand(odd.length)];
      }
      if (rand(2) === 0) {
        // Break or stretch an attempt: a field changed, removed or added, or the attempt itself replaced.
        const attempts = row[17] as unknown[];
        if (Array.isArray(attempts) && attempts.length > 0) {
          const a = attempts[0] as Record<string, unknown>;
          const key = attemptKeys[rand(attemptKeys.length)]!;
          const how = rand(4);
          if (how === 0) delete a[key];
          else if (how === 1) a[key] = odd[rand(odd.length)];
          else if (how === 2) attempts.push(odd[rand(odd.length)]);
          else attempts.push({ ...a });
        }
      }
      const wire = overTheWire({ columns: base.columns, rows: [row] }) as { rows: unknown[][] };
      const expected = bySchema(wire.rows[0]!);
      const got = logRowsSchema.safeParse(wire);
      expect(got.success, JSON.stringify(row)).toBe(expected.success);
      if (expected.success) expect(got.data![0]).toStrictEqual(expected.data);
      else refused++;
    }
    // The fuzz reached both sides.
    expect(refused).toBeGreaterThan(300);
    expect(refused).toBeLessThan(2700);
  });

  it('name the row and the field a refusal is about', () => {
    const sent = overTheWire(logRowsOf([record(21), record(22)])) as { columns: string[]; rows: unknown[][] };
    const second = sent.rows[1]!;
    second[11] = '200';
    const message = (v: unknown) => logRowsSchema.safeParse(v).error?.issues[0]?.message;
    expect(message(sent)).toBe('row 1: statusCode is missing or of the wrong type');
    second[11] = 200;
    (second[17] as Array<Record<string, unknown>>)[0]!.class = 'fine';
    expect(message(sent)).toBe('row 1: attempts[0].class is missing or of the wrong type');
  });
});
