// Test-only: a Keyway database with rows in every model (JSON, unicode, NULLs, dates with milliseconds, floats,
// booleans) and a snapshot of all of it through Prisma, to compare databases row by row.
import { createPrismaClient, type DbClient } from '../client';
import { copyModels } from './model';

const UNICODE = 'ключ-密钥-🔑 «quoted» \'single\' "double" \\ back';
const t = (iso: string) => new Date(iso);

/** Fills a migrated, empty database with one or more rows of every model and `logs` request logs. */
export async function fillEveryModel(url: string, logs = 50): Promise<void> {
  const conn = createPrismaClient(url);
  const db = conn.prisma;
  try {
    await db.setting.createMany({
      data: [
        { key: 'encryptionVerifier', value: '{"mode":"aes-256-gcm","fingerprint":"abc123"}' },
        { key: 'logRetentionDays', value: '30' },
        { key: 'unicode', value: UNICODE },
      ],
    });
    const a = await db.group.create({
      data: {
        name: 'openai-main',
        displayName: UNICODE,
        channel: 'openai',
        upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
        proxyKeys: [{ hash: 'h1', masked: 'sk-…1' }],
        paramOverrides: { temperature: 0.7, nested: { deep: [1, 2.5, null, true, 'ü'] } },
        modelRedirects: {},
        modelRedirectStrict: true,
        modelAliases: { fast: ['gpt-4o-mini', 'gpt-4.1-mini'] },
        headerRules: [],
        models: ['gpt-*'],
        keyLimits: null as never,
        dailyResetTimeZone: 'Asia/Shanghai',
        proxyPool: ['socks5://user:pw@127.0.0.1:1080'],
        translate: { from: ['anthropic'] },
        config: { maxRetries: 3, blacklistThreshold: 0 },
        sort: 2,
        lastValidatedAt: t('2026-11-30T10:11:12.345Z'),
        createdAt: t('2026-01-02T03:04:05.678Z'),
      },
    });
    const b = await db.group.create({
      data: {
        name: 'claude',
        channel: 'anthropic',
        upstreams: [],
        proxyKeys: [],
        paramOverrides: {},
        modelRedirects: { 'claude-3': 'claude-3-5' },
        headerRules: [{ action: 'set', key: 'x-a', value: '€' }],
        config: {},
      },
    });
    const agg = await db.group.create({
      data: {
        name: 'all',
        type: 'aggregate',
        channel: 'openai',
        upstreams: [],
        proxyKeys: [],
        paramOverrides: {},
        modelRedirects: {},
        headerRules: [],
        config: {},
      },
    });
    await db.groupSubGroup.createMany({
      data: [
        { groupId: agg.id, subGroupId: a.id, weight: 3, priority: 1 },
        { groupId: agg.id, subGroupId: b.id, weight: 1, priority: 2 },
      ],
    });
    await db.apiKey.createMany({
      data: Array.from({ length: 30 }, (_, i) => ({
        groupId: i % 2 === 0 ? a.id : b.id,
        keyValue: `enc:v1:${'x'.repeat(40)}${i}`,
        keyHash: `${i}`.padStart(64, 'f'),
        keyMasked: `sk-…${i}`,
        status: i % 5 === 0 ? 'invalid' : 'active',
        failureCount: i,
        requestCount: 2_000_000_000 + i,
        lastUsedAt: i % 3 === 0 ? null : t(`2026-12-0${(i % 5) + 1}T00:00:00.${String(i).padStart(3, '0')}Z`),
        lastError: i === 1 ? `bad key 😱 ${UNICODE}` : null,
        modelCooling: i === 2 ? { 'gpt-4o': { until: 1_800_000_000_123, reason: 'quota' } } : undefined,
        notes: i === 3 ? UNICODE : '',
      })),
    });
    await db.requestLog.createMany({ data: Array.from({ length: logs }, (_, i) => requestLog(i, a.id)) });
    await db.hourlyStat.createMany({
      data: [
        {
          time: t('2026-12-05T10:00:00.000Z'),
          groupId: a.id,
          model: 'gpt-4o',
          requests: 10,
          costUsd: 0.1 + 0.2,
        },
        { time: t('2026-12-05T11:00:00.000Z'), groupId: b.id, accessKeyId: 1, costUsd: 1 / 3 },
      ],
    });
    await db.accessKey.create({
      data: {
        name: 'team-ü',
        keyHash: 'a'.repeat(64),
        keyMasked: 'kw-…abcd',
        groups: [a.id, b.id],
        models: [],
        limits: { requestsPerMinute: 60, totalCostUsd: 12.5 },
        expiresAt: null,
        enabled: false,
        totalRequests: 1e15 + 1,
        totalTokens: 123456789.5,
        totalCostUsd: 0.000001,
      },
    });
    await db.modelPrice.createMany({
      data: [
        { model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 },
        { model: 'Model-Ä', inputPerMTok: 0, outputPerMTok: 1e-9, cachedInputPerMTok: null },
      ],
    });
    await db.usageBatchApplied.create({ data: { id: 'batch-1', time: t('2026-12-05T12:34:56.789Z') } });
    await db.auditLog.create({
      data: { action: 'group.create', target: UNICODE, details: { before: null, after: { name: 'x' } } },
    });
    await db.task.createMany({
      data: [
        { id: 'task-1', type: 'validate', state: 'done', processed: 5, total: 5, result: { ok: 5 } },
        { id: 'task-2', type: 'import', state: 'failed', error: 'boom', result: undefined },
      ],
    });
    await db.session.create({
      data: {
        id: 'sess-1',
        tokenHash: 'b'.repeat(64),
        expiresAt: t('2027-01-01T00:00:00.001Z'),
        userAgent: 'Mozilla/5.0 (Ünïcode)',
        authKeyFingerprint: 'c'.repeat(64),
      },
    });
    const channel = await db.alertChannel.create({
      data: { name: 'ops', type: 'slack', url: 'enc:v1:url', secret: null, events: ['key.invalid'] },
    });
    await db.alertHistory.createMany({
      data: [
        {
          channelId: channel.id,
          channelName: 'ops',
          event: 'key.invalid',
          severity: 'warning',
          subject: 'key:1',
          message: UNICODE,
          status: 'sent',
          statusCode: 200,
          details: { key: 'sk-…1' },
        },
        {
          event: 'group.exhausted',
          severity: 'critical',
          subject: 'group:2',
          message: 'm',
          status: 'failed',
        },
      ],
    });
  } finally {
    await conn.close();
  }
}

function requestLog(i: number, groupId: number) {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    requestId: `req-${i}`,
    time: new Date(Date.UTC(2026, 11, 5, 0, 0, 0, i)),
    groupId,
    groupName: 'openai-main',
    keyId: i % 4 === 0 ? null : i,
    keyMasked: i % 4 === 0 ? null : `sk-…${i}`,
    model: i % 7 === 0 ? null : 'gpt-4o',
    statusCode: i % 9 === 0 ? 429 : 200,
    success: i % 9 !== 0,
    durationMs: 100 + i,
    ttfbMs: i % 2 === 0 ? null : 20,
    stream: i % 2 === 0,
    retries: i % 3,
    attempts: [{ key: `sk-…${i}`, status: 200, ms: 12.5, note: i === 1 ? UNICODE : null }],
    error: i % 9 === 0 ? `rate limited «${i}»` : null,
    promptTokens: i,
    costUsd: i % 2 === 0 ? null : i * 0.001,
    requestBody: i === 2 ? JSON.stringify({ messages: [{ role: 'user', content: UNICODE }] }) : null,
  };
}

type Delegate = {
  findMany(): Promise<Record<string, unknown>[]>;
  count(): Promise<number>;
  create(args: { data: Record<string, unknown> }): Promise<Record<string, unknown>>;
};

/** The Prisma delegate of a model (`ApiKey` → `db.apiKey`). */
export function delegate(db: DbClient, model: string): Delegate {
  return (db as unknown as Record<string, Delegate>)[
    model.charAt(0).toLowerCase() + model.slice(1)
  ] as Delegate;
}

/** Every model's rows as Prisma returns them, sorted by their first column (the id). */
export async function snapshotEveryModel(url: string): Promise<Record<string, Record<string, unknown>[]>> {
  const conn = createPrismaClient(url);
  try {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const m of copyModels()) {
      const rows = await delegate(conn.prisma, m.model).findMany();
      const first = m.columns[0]?.name ?? 'id';
      out[m.model] = rows.sort((x, y) => (String(x[first]) < String(y[first]) ? -1 : 1));
    }
    return out;
  } finally {
    await conn.close();
  }
}
