/**
 * The fixture's api_keys, request_logs and group_hourly_stats: stored rows (encrypted like GPT-Load when an
 * ENCRYPTION_KEY is given) and the rows the reader must return.
 */
import { createHash } from 'node:crypto';
import { deriveGptLoadKey, encryptGptLoadValue, gptLoadKeyHash } from '../crypto';
import type { GptLoadHourlyStat, GptLoadKey, GptLoadRequestLog } from '../types';
import type { Row } from './groups';

const HOUR = 3_600_000;

/** The key the `legacy` option's undecryptable row is encrypted under (an ENCRYPTION_KEY used before). */
export const LEGACY_ENCRYPTION_KEY = 'an-older-encryption-key';
const at = (iso: string) => new Date(iso);

interface KeyDef {
  id: number;
  groupId: number;
  plain: string;
  status: 'active' | 'invalid';
  notes: string;
  requestCount: number;
  failureCount: number;
  lastUsedAt: Date | null;
  createdAt: Date;
}

const BASE_KEYS: KeyDef[] = [
  [1, 1, 'sk-proj-fixtureOpenAI0001-aaaaaaaaaaaaaaaaaaaa', 'active', 'team-a primary', 1530, 0],
  [2, 1, 'sk-proj-fixtureOpenAI0002-bbbbbbbbbbbbbbbbbbbb', 'active', '', 986, 1],
  [3, 1, 'sk-proj-fixtureOpenAI0003-cccccccccccccccccccc', 'invalid', 'quota exceeded 2025-05', 210, 5],
  [4, 1, 'sk-proj-fixtureOpenAI0004-dddddddddddddddddddd', 'active', 'spare, never used', 0, 0],
  [5, 2, 'sk-ant-api03-fixtureClaude0001-AAAAAAAAAAAA', 'active', 'prod', 639, 1],
  [6, 2, 'sk-ant-api03-fixtureClaude0002-BBBBBBBBBBBB', 'invalid', 'revoked by owner', 75, 3],
  [7, 2, 'sk-ant-api03-fixtureClaude0003-CCCCCCCCCCCC', 'active', '', 11, 0],
  [8, 3, 'AIzaSyFixtureGemini0001-xxxxxxxxxxxxxxx', 'active', 'free tier', 4020, 2],
  [9, 3, 'AIzaSyFixtureGemini0002-yyyyyyyyyyyyyyy', 'active', '', 3309, 0],
  [10, 3, 'AIzaSyFixtureGemini0003-zzzzzzzzzzzzzzz', 'invalid', 'API key expired', 15, 3],
  [11, 4, 'sk-relay-fixture-0001-qqqqqqqqqqqqqqqq', 'active', 'relay vendor A', 299, 0],
  [12, 4, 'sk-relay-fixture-0002-wwwwwwwwwwwwwwww', 'active', '', 0, 0],
  [13, 6, 'sk-proj-fixtureLab0001-llllllllllllllllllll', 'active', 'responses API', 42, 0],
  // The same key in a second group: GPT-Load keeps separate rows with equal key_hash.
  [14, 7, 'sk-ant-api03-fixtureClaude0001-AAAAAAAAAAAA', 'active', 'shared with anthropic', 3, 0],
].map(([id, groupId, plain, status, notes, requestCount, failureCount]) => ({
  id: id as number,
  groupId: groupId as number,
  plain: plain as string,
  status: status as 'active' | 'invalid',
  notes: notes as string,
  requestCount: requestCount as number,
  failureCount: failureCount as number,
  lastUsedAt: requestCount ? new Date(Date.UTC(2025, 4, 31, 12, 0, 0, (id as number) * 111)) : null,
  createdAt: at('2025-05-20T01:06:00.000Z'),
}));

/** Standard groups that hold keys (generated keys are spread over them). */
const KEY_GROUPS = [1, 2, 3, 4, 6, 7];

/** `total` keys: the 14 written by hand first, then generated ones (every 10th invalid). */
function keyDefs(total: number): KeyDef[] {
  const out = BASE_KEYS.slice(0, Math.max(total, 0));
  for (let id = out.length + 1; id <= total; id++) {
    const tail = createHash('sha256').update(`key-${id}`).digest('hex').slice(0, 32);
    out.push({
      id,
      groupId: KEY_GROUPS[id % KEY_GROUPS.length] ?? 1,
      plain: `sk-fixture-gen-${String(id).padStart(7, '0')}-${tail}`,
      status: id % 10 === 0 ? 'invalid' : 'active',
      notes: id % 3 === 0 ? `batch ${id % 7}` : '',
      requestCount: id % 100,
      failureCount: id % 10 === 0 ? 3 : 0,
      lastUsedAt: id % 100 ? new Date(Date.UTC(2025, 5, 1, 0, 0, 0, id)) : null,
      createdAt: at('2025-05-25T00:00:00.000Z'),
    });
  }
  return out;
}

/** The api_keys rows and expected keys; `legacy` adds a plaintext row and one under an older key. */
export function keyRows(
  total: number,
  encryptionKey: string | undefined,
  legacy: boolean,
): { rows: Row[]; expected: GptLoadKey[]; plainById: Map<number, string> } {
  const aesKey = encryptionKey ? deriveGptLoadKey(encryptionKey) : null;
  const defs = keyDefs(total);
  const rows: Row[] = [];
  const expected: GptLoadKey[] = [];
  const push = (
    d: KeyDef,
    keyValue: string,
    keyHash: string,
    exp: Pick<GptLoadKey, 'keyValue' | 'encoding'>,
  ) => {
    rows.push({
      id: d.id,
      key_value: keyValue,
      key_hash: keyHash,
      group_id: d.groupId,
      status: d.status,
      notes: d.notes,
      request_count: d.requestCount,
      failure_count: d.failureCount,
      last_used_at: d.lastUsedAt,
      created_at: d.createdAt,
      updated_at: d.lastUsedAt ?? d.createdAt,
    });
    const { id, groupId, status, notes, requestCount, failureCount, lastUsedAt, createdAt } = d;
    expected.push({
      id,
      groupId,
      ...exp,
      keyHash,
      status,
      notes,
      requestCount,
      failureCount,
      lastUsedAt,
      createdAt,
    });
  };
  for (const d of defs) {
    const stored = aesKey ? encryptGptLoadValue(aesKey, d.plain) : d.plain;
    const encoding = aesKey ? 'ciphertext' : 'plaintext';
    push(d, stored, gptLoadKeyHash(aesKey, d.plain), { keyValue: d.plain, encoding });
  }
  if (legacy && aesKey) {
    const base = {
      ...BASE_KEYS[0]!,
      groupId: 1,
      notes: 'legacy',
      requestCount: 0,
      failureCount: 0,
      lastUsedAt: null,
    };
    const before = { ...base, id: total + 1, plain: 'sk-legacy-plaintext-before-encryption-0001' };
    push(before, before.plain, gptLoadKeyHash(null, before.plain), {
      keyValue: before.plain,
      encoding: 'plaintext',
    });
    const oldKey = deriveGptLoadKey(LEGACY_ENCRYPTION_KEY);
    const other = { ...base, id: total + 2, plain: 'sk-legacy-under-an-older-key-0002' };
    push(other, encryptGptLoadValue(oldKey, other.plain), gptLoadKeyHash(oldKey, other.plain), {
      keyValue: null,
      encoding: 'undecryptable',
    });
  }
  return { rows, expected, plainById: new Map(defs.map((d) => [d.id, d.plain])) };
}

const GROUP_NAMES: Record<number, string> = {
  1: 'openai',
  2: 'anthropic',
  3: 'gemini',
  4: 'openai-backup',
  6: '_lab',
};
/** Keys that serve logs: one active and (for retries) one invalid key per group. */
const LOG_KEYS: [number, number][] = [
  [1, 1],
  [2, 5],
  [3, 8],
  [4, 11],
  [6, 13],
  [1, 3],
  [3, 10],
];

/** A uuid v4 derived from `seed`, so the expected order by id is stable. */
function uuidFor(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * `count` request_logs rows, one per attempt from 2025-06-01T08:00Z on: retries (429), an aggregate-routed
 * request now and then, a 503 without a key, gemini rows with user agent and body.
 */
export function logRows(
  count: number,
  encryptionKey: string | undefined,
  plainById: Map<number, string>,
): { rows: Row[]; expected: GptLoadRequestLog[] } {
  const aesKey = encryptionKey ? deriveGptLoadKey(encryptionKey) : null;
  const rows: Row[] = [];
  const expected: GptLoadRequestLog[] = [];
  const start = Date.UTC(2025, 5, 1, 8, 0, 0);
  for (let i = 0; i < count; i++) {
    const [groupId, keyId] = LOG_KEYS[i % LOG_KEYS.length] ?? [1, 1];
    const noKey = i % 11 === 10;
    const plain = noKey ? '' : (plainById.get(keyId) ?? '');
    const retry = !noKey && i % 5 === 1;
    const status = noKey ? 503 : retry ? 429 : i % 13 === 12 ? 404 : 200;
    const viaPool = (groupId === 1 || groupId === 4) && i % 7 === 3;
    const gemini = groupId === 3;
    const name = GROUP_NAMES[groupId] ?? '';
    const model = gemini ? 'gemini-2.5-flash' : groupId === 2 ? 'claude-sonnet' : 'gpt-4o-mini';
    const path = `/proxy/${viaPool ? 'openai-pool' : name}/v1/chat/completions`;
    const e: GptLoadRequestLog = {
      id: uuidFor(`log-${i}`),
      timestamp: new Date(start + i * 47_000 + ((i * 137) % 1000)),
      groupId,
      groupName: name,
      parentGroupId: viaPool ? 5 : null,
      parentGroupName: viaPool ? 'openai-pool' : null,
      keyValue: plain || null,
      keyHash: plain ? gptLoadKeyHash(aesKey, plain) : null,
      model,
      isSuccess: status < 400,
      sourceIp: `203.0.113.${i % 250}`,
      statusCode: status,
      requestPath: path,
      durationMs: 100 + ((i * 31) % 5000),
      errorMessage: status >= 400 ? (noKey ? 'no active keys available' : `upstream error ${status}`) : null,
      userAgent: gemini ? 'google-genai-sdk/1.20.0 gl-python/3.12.3' : null,
      requestType: retry ? 'retry' : 'final',
      upstreamAddr: noKey ? null : `https://upstream.example.com/v1/chat/completions`,
      isStream: i % 3 === 0,
      requestBody: gemini ? '{"contents":[{"parts":[{"text":"Say hello"}],"role":"user"}]}' : null,
    };
    expected.push(e);
    rows.push({
      id: e.id,
      timestamp: e.timestamp,
      group_id: groupId,
      group_name: name,
      parent_group_id: viaPool ? 5 : 0,
      parent_group_name: viaPool ? 'openai-pool' : '',
      key_value: plain && aesKey ? encryptGptLoadValue(aesKey, plain) : plain,
      key_hash: e.keyHash ?? '',
      model,
      is_success: e.isSuccess,
      source_ip: e.sourceIp,
      status_code: status,
      request_path: path,
      duration: e.durationMs,
      error_message: e.errorMessage ?? '',
      user_agent: e.userAgent ?? '',
      request_type: e.requestType,
      upstream_addr: e.upstreamAddr ?? '',
      is_stream: e.isStream,
      request_body: e.requestBody ?? '',
    });
  }
  expected.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { rows, expected };
}

/**
 * group_hourly_stats as GPT-Load's log writer leaves them: final rows per UTC hour, counted for the group and
 * again for its aggregate, plus two older buckets (stats outlive log retention).
 */
export function hourlyRows(logs: GptLoadRequestLog[]): { rows: Row[]; expected: GptLoadHourlyStat[] } {
  const buckets = new Map<string, { hour: number; groupId: number; s: number; f: number }>();
  const bump = (hour: number, groupId: number, s: number, f: number) => {
    const k = `${hour}|${groupId}`;
    const b = buckets.get(k) ?? { hour, groupId, s: 0, f: 0 };
    b.s += s;
    b.f += f;
    buckets.set(k, b);
  };
  const old = Date.UTC(2025, 4, 31, 23);
  bump(old, 1, 41, 2);
  bump(old, 3, 88, 5);
  for (const l of logs) {
    if (l.requestType === 'retry') continue;
    const hour = Math.floor(l.timestamp.getTime() / HOUR) * HOUR;
    for (const g of [l.groupId, l.parentGroupId])
      if (g) bump(hour, g, l.isSuccess ? 1 : 0, l.isSuccess ? 0 : 1);
  }
  const expected = [...buckets.values()]
    .sort((a, b) => a.hour - b.hour || a.groupId - b.groupId)
    .map((b, i) => ({
      id: i + 1,
      time: new Date(b.hour),
      groupId: b.groupId,
      successCount: b.s,
      failureCount: b.f,
      createdAt: new Date(b.hour + 61_000),
      updatedAt: new Date(b.hour + 3_540_000),
    }));
  const rows = expected.map((e) => ({
    id: e.id,
    time: e.time,
    group_id: e.groupId,
    success_count: e.successCount,
    failure_count: e.failureCount,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  }));
  return { rows, expected };
}
