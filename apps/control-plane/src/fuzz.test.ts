// Fuzzing the admin API in-process: every route of the OpenAPI route table (so a route added later is fuzzed
// without touching this file) gets hostile bodies, query strings, path parameters and headers. Properties: no
// 5xx, every error in the one envelope, the process alive with a bounded RSS. The seed is printed; replay a
// failure with FUZZ_SEED=<seed>, run more cases with FUZZ_SCALE=<factor>.
import { MemoryJobQueue } from '@keyway/queue';
import { fuzzRun, rssMiB } from '@keyway/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteDoc } from './openapi';
import { routeDocs } from './openapi';
import type { Fixture } from './testing/fixture';
import { AUTH_KEY, createFixture, standardGroup } from './testing/fixture';
import type { FuzzBody } from './testing/fuzz-json';
import { mutatedBody, nastyString, percentEncode, queryValue } from './testing/fuzz-json';

const run = fuzzRun('admin API');
/** Cases per write route and per read route (there are ~15 of each). */
const BODY_RUNS = run.runs(200);
const QUERY_RUNS = run.runs(80);
/** The RSS may grow by this much over the whole suite (huge bodies are generated, then collected). */
const RSS_GROWTH_LIMIT_MIB = 400;

/** Ids of the live objects a route's path parameters are filled with. */
interface Live {
  groupId: number;
  otherGroupId: number;
  keyId: number;
  taskId: string;
}

/** Replaced by a fresh group name in every case, so creations get past the uniqueness check. */
const FRESH_NAME = 'fz-fresh-name-placeholder';

/**
 * Valid bodies per write route (one, or a list when the route takes several shapes), built from the live ids. A
 * route not listed here uses its table entry's `example`, or `{}` when its schema accepts that; otherwise the
 * suite fails and names the route.
 */
const EXAMPLES: Record<string, (live: Live) => unknown> = {
  'post /api/auth/login': () => ({ authKey: 'not-the-admin-key-4b1e9d7c' }),
  'post /api/groups': (l) => [
    {
      name: FRESH_NAME,
      type: 'aggregate',
      channel: 'openai',
      subGroups: [
        { groupId: l.groupId, weight: 3 },
        { groupId: l.otherGroupId, weight: 1 },
      ],
    },
    {
      name: FRESH_NAME,
      displayName: 'OpenAI',
      description: 'fuzzed',
      type: 'standard',
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.example', weight: 1 }],
      testModel: 'gpt-4.1-nano',
      validationEndpoint: '/v1/chat/completions',
      proxyKeys: ['team-a-secret-4c7d9e1f0a2b'],
      paramOverrides: { temperature: 0.2 },
      modelRedirects: { 'gpt-4': 'gpt-4.1' },
      modelRedirectStrict: false,
      headerRules: [
        { action: 'set', key: 'X-Team', value: '${GROUP_NAME}' },
        { action: 'remove', key: 'X-Forwarded-For' },
      ],
      config: { maxRetries: 2, blacklistThreshold: 1 },
    },
  ],
  'put /api/groups/order': (l) => ({ ids: [l.otherGroupId, l.groupId] }),
  'patch /api/groups/{id}': (l) => ({
    displayName: 'Renamed',
    description: 'changed',
    upstreams: [{ url: 'http://127.0.0.1:9/v1', weight: 2 }],
    proxyKeys: ['team-b-secret-8e2f4a6c1d3b'],
    paramOverrides: { top_p: 0.9 },
    modelRedirects: { a: 'b' },
    modelRedirectStrict: true,
    headerRules: [{ action: 'set', key: 'X-Fuzz', value: '${CLIENT_IP}' }],
    config: { maxRetries: 1, requestLogBodies: true },
    id: l.groupId,
  }),
  'post /api/groups/{id}/copy': () => ({ name: FRESH_NAME, keys: 'valid' }),
  'post /api/groups/{id}/keys': () => [
    { keys: 'sk-fuzz-000000000001\nsk-fuzz-000000000002, sk-fuzz-3' },
    { keys: ['sk-fuzz-000000000004', 'sk-fuzz-000000000005'] },
  ],
  'delete /api/groups/{id}/keys': (l) => [
    { keys: 'sk-fuzz-000000000001' },
    { ids: [l.keyId] },
    { status: 'invalid' },
  ],
  'post /api/groups/{id}/keys/restore': (l) => ({ ids: [l.keyId] }),
  'post /api/groups/{id}/keys/validate': () => ({ status: 'all' }),
  'patch /api/keys/{keyId}': () => ({ notes: 'fuzz notes', status: 'disabled' }),
  'patch /api/settings': () => ({
    requestLogging: 'errors',
    maxRetries: 2,
    failoverStatusCodes: '400-403,405-999',
    appUrl: 'http://localhost:3001',
    requestLogRetentionDays: 3,
  }),
};

const routeKey = (d: RouteDoc) => `${d.method} ${d.path}`;
const writeRoutes = routeDocs.filter((d) => d.method !== 'get');
const readRoutes = routeDocs.filter((d) => d.method === 'get');

/** The valid bodies a write route's mutations start from (`{}` when the route takes no body). */
function exampleBodies(doc: RouteDoc, live: Live): unknown[] {
  const fromSuite = EXAMPLES[routeKey(doc)];
  if (fromSuite) {
    const bodies = fromSuite(live);
    return Array.isArray(bodies) ? bodies : [bodies];
  }
  const fromTable = doc.example;
  if (fromTable !== undefined) return [fromTable];
  if (!doc.body || doc.body.safeParse({}).success) return [{}];
  throw new Error(
    `fuzz: ${routeKey(doc)} has a body schema but no valid example: give its routeDocs entry an \`example\``,
  );
}

/** Path parameter values that are not a live id. */
const oddParam = fc.constantFrom(
  '0',
  '-1',
  '1e3',
  '1.5',
  '99999999999999999999',
  '2147483648',
  '%00',
  '%2e%2e',
  'abc',
  '%F0%9F%94%91',
  '%EF%BC%92',
  'x'.repeat(3000),
);

function fillPath(path: string, live: Live, odd: string | null): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (odd !== null) return odd;
    if (name === 'id') return String(live.groupId);
    if (name === 'keyId') return String(live.keyId);
    if (name === 'taskId') return live.taskId;
    return 'fuzz';
  });
}

/** Headers: mostly a well-formed bearer JSON request, sometimes odd content types, cookies and credentials. */
const headerSet = fc.record(
  {
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'text/plain',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'multipart/form-data; boundary=x',
      '',
      'application/json;;;=',
    ),
    auth: fc.constantFrom('bearer', 'bearer', 'bearer', 'bearer', 'none', 'wrong', 'basic', 'padded'),
    cookie: fc.option(
      fc.oneof(nastyString, fc.constantFrom('kw_session=', 'kw_session=a.b.c', 'kw_session=x; kw_session=y')),
    ),
    origin: fc.option(
      fc.constantFrom('null', 'http://127.0.0.1:9999', 'http://localhost', '\u00ff', 'x'.repeat(5000)),
    ),
    forwardedFor: fc.option(
      fc.constantFrom('1.2.3.4', 'garbage, , ,', '::1', '999.999.999.999', 'x'.repeat(9000)),
    ),
  },
  { requiredKeys: ['contentType', 'auth'] },
);
type HeaderSet = typeof headerSet extends fc.Arbitrary<infer T> ? T : never;

function buildHeaders(h: HeaderSet): Headers {
  const out = new Headers();
  const set = (name: string, value: string | null | undefined) => {
    if (value === null || value === undefined) return;
    try {
      out.set(name, value);
    } catch {
      // Not a legal header value: a client cannot send it either.
    }
  };
  if (h.contentType !== '') set('content-type', h.contentType);
  const auth = {
    bearer: `Bearer ${AUTH_KEY}`,
    none: null,
    wrong: 'Bearer not-the-admin-key',
    basic: `Basic ${Buffer.from(`admin:${AUTH_KEY}`).toString('base64')}`,
    padded: `  bearer   ${AUTH_KEY}  `,
  }[h.auth as 'bearer'];
  set('authorization', auth);
  set('cookie', h.cookie);
  set('origin', h.origin);
  set('x-forwarded-for', h.forwardedFor);
  return out;
}

/** Replaces every occurrence of an ASCII placeholder in a body (the body may hold invalid UTF-8 on purpose). */
function replaceAscii(bytes: Uint8Array, from: string, to: () => string): Uint8Array {
  let buf = Buffer.from(bytes);
  for (let at = buf.indexOf(from); at >= 0; at = buf.indexOf(from, at + 1))
    buf = Buffer.concat([buf.subarray(0, at), Buffer.from(to()), buf.subarray(at + from.length)]);
  return buf;
}

let fx: Fixture;
let queue: MemoryJobQueue;
let rssBefore = 0;
let cases = 0;
let fresh = 0;
/** Cases per status class, printed at the end: a suite that only ever gets 400s tests little. */
const statusClasses = new Map<string, number>();

/** Sends one request and checks the properties every response must have. */
async function check(
  method: string,
  url: string,
  headers: Headers,
  body: FuzzBody | undefined,
): Promise<void> {
  cases++;
  const bytes = body?.bytes && replaceAscii(body.bytes, FRESH_NAME, () => `fz-${++fresh}`);
  const res = await fx.app.request(url, { method: method.toUpperCase(), headers, body: bytes }, {});
  const text = await res.text();
  const cls = `${String(res.status).charAt(0)}xx`;
  statusClasses.set(cls, (statusClasses.get(cls) ?? 0) + 1);
  if (res.status >= 500)
    throw new Error(`${method.toUpperCase()} ${url.slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`);
  if (res.status >= 400 && res.headers.get('content-type')?.includes('json')) {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string')
      throw new Error(
        `${method.toUpperCase()} ${url} → ${res.status} outside the error envelope: ${text.slice(0, 300)}`,
      );
  }
}

/** A fresh standard group with keys and a queued task: what a route's path parameters point at. */
async function freshLive(): Promise<Live> {
  // Each route starts from a small database: hundreds of fuzzed groups would make every list slow.
  await fx.reset();
  const mk = async (name: string) => {
    const res = await fx.req<{ id: number }>('POST', '/api/groups', standardGroup(name));
    expect(res.status).toBe(201);
    return res.json.id;
  };
  const groupId = await mk(`fz-live-${++fresh}`);
  const otherGroupId = await mk(`fz-live-${++fresh}`);
  await fx.req('POST', `/api/groups/${groupId}/keys`, {
    keys: ['sk-fuzz-000000000001', 'sk-fuzz-000000000009'],
  });
  const keys = await fx.req<{ items: Array<{ id: number }> }>('GET', `/api/groups/${groupId}/keys`);
  const task = await fx.req<{ taskId: string }>('POST', `/api/groups/${groupId}/keys/validate`, {
    status: 'all',
  });
  return { groupId, otherGroupId, keyId: keys.json.items[0]?.id ?? 1, taskId: task.json.taskId };
}

beforeAll(async () => {
  fx = await createFixture();
  // Background tasks, key tests and proxy health exist in every deployment; without them these routes answer 503 by design.
  queue = new MemoryJobQueue();
  fx.deps.queue = queue;
  fx.deps.testKey = () =>
    Promise.resolve({ valid: false, statusCode: 401, durationMs: 1, error: 'invalid key' });
  fx.deps.proxyPenalties = () => Promise.resolve(new Map());
  rssBefore = rssMiB();
  console.log(`[fuzz] admin API: RSS before ${rssBefore} MiB`);
});

afterAll(async () => {
  const rssAfter = rssMiB();
  const classes = [...statusClasses].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(
    `[fuzz] admin API: ${cases} cases (${classes}), RSS before ${rssBefore} MiB, after ${rssAfter} MiB`,
  );
  await queue.close();
  await fx.close();
});

describe('admin API fuzzing', () => {
  it('knows a valid body for every write route of the route table', () => {
    const live: Live = { groupId: 1, otherGroupId: 2, keyId: 1, taskId: 't' };
    for (const doc of writeRoutes) {
      for (const body of exampleBodies(doc, live))
        if (doc.body) expect(doc.body.safeParse(body).success, routeKey(doc)).toBe(true);
    }
  });

  it.each(writeRoutes.map((d) => [routeKey(d), d] as const))(
    'answers mutated bodies on %s without a 5xx',
    async (_name, doc) => {
      const live = await freshLive();
      const seeds = exampleBodies(doc, live);
      await fc.assert(
        fc.asyncProperty(
          mutatedBody(seeds),
          headerSet,
          fc.option(oddParam, { freq: 8 }),
          async (body, headers, odd) => {
            await check(doc.method, fillPath(doc.path, live, odd), buildHeaders(headers), body);
          },
        ),
        { seed: run.seed, numRuns: BODY_RUNS },
      );
    },
    60_000,
  );

  it.each(readRoutes.map((d) => [routeKey(d), d] as const))(
    'answers hostile query strings on %s without a 5xx',
    async (_name, doc) => {
      const live = await freshLive();
      const known = Object.keys(doc.query?.shape ?? {});
      const name = fc.oneof(
        { arbitrary: fc.constantFrom(...known, 'page', 'pageSize'), weight: 4 },
        { arbitrary: nastyString.map(percentEncode), weight: 1 },
        { arbitrary: fc.constantFrom('__proto__', 'constructor', '', '%', 'page[]', 'a%00b'), weight: 1 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(name, queryValue), { maxLength: 6 }),
          fc.option(oddParam, { freq: 10 }),
          async (pairs, odd) => {
            const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
            const headers = new Headers({ authorization: `Bearer ${AUTH_KEY}` });
            await check('get', `${fillPath(doc.path, live, odd)}?${query}`, headers, undefined);
          },
        ),
        { seed: run.seed, numRuns: QUERY_RUNS },
      );
    },
    60_000,
  );

  it('still serves an ordinary request afterwards, within its memory bound', async () => {
    expect(cases).toBeGreaterThan(0);
    expect((await fx.req('GET', '/api/groups')).status).toBe(200);
    expect(rssMiB() - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  });
});
