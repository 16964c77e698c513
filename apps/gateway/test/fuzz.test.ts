// Fuzzing the proxy over a real socket: hostile request targets (percent-encodings, dot segments, `//`, NUL,
// absolute-form, very long) and headers (proxy keys in odd places, odd values, framing conflicts), written as raw
// bytes so nothing is normalised on the way. Properties: no 5xx while the upstream is healthy, no key ever
// charged, nothing reaches the upstream outside the group's base path, RSS bounded. The seed is printed; replay
// with FUZZ_SEED=<seed>, scale with FUZZ_SCALE=<factor>.
import { connect } from 'node:net';
import { fuzzRun, rssMiB } from '@keyway/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './harness';
import { PROXY_KEY, postJson, chatBody, startEchoUpstream, startGateway } from './harness';

const run = fuzzRun('proxy');
const TARGET_RUNS = run.runs(1200);
const HEADER_RUNS = run.runs(600);
const RSS_GROWTH_LIMIT_MIB = 300;

/** Group → the path of its upstream base URL (what every forwarded request must stay under). */
const GROUPS = { oa: '/base-oa', an: '/base-an', gm: '/base-gm' } as const;
const KEYS = ['sk-fuzz-a-000000000001', 'sk-fuzz-a-000000000002', 'sk-fuzz-a-000000000003'];

let gw: TestGateway;
let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
let port = 0;
let rssBefore = 0;
let cases = 0;
/** Cases per status class, printed at the end: how many reached the upstream (2xx) and how many were refused. */
const statusClasses = new Map<string, number>();

beforeAll(async () => {
  echo = await startEchoUpstream();
  gw = await startGateway({
    groups: [
      {
        name: 'oa',
        channel: 'openai',
        upstreams: [`${echo.url}${GROUPS.oa}`],
        keys: KEYS.map((k) => `${k}-oa`),
      },
      {
        name: 'an',
        channel: 'anthropic',
        upstreams: [`${echo.url}${GROUPS.an}`],
        keys: KEYS.map((k) => `${k}-an`),
      },
      {
        name: 'gm',
        channel: 'gemini',
        upstreams: [`${echo.url}${GROUPS.gm}`],
        keys: KEYS.map((k) => `${k}-gm`),
      },
    ],
  });
  port = Number(new URL(gw.url).port);
  rssBefore = rssMiB();
  console.log(`[fuzz] proxy: RSS before ${rssBefore} MiB`);
});

afterAll(async () => {
  const classes = [...statusClasses].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(
    `[fuzz] proxy: ${cases} cases (${classes}), RSS before ${rssBefore} MiB, after ${rssMiB()} MiB`,
  );
  await gw.close();
  await echo.close();
});

/** The final status of a raw HTTP exchange (1xx interim responses skipped); null when none arrived. */
function finalStatus(raw: string): number | null {
  for (const m of raw.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)) {
    const status = Number(m[1]);
    if (status >= 200) return status;
  }
  return null;
}

/** Sends raw request bytes on a fresh connection and reads until the server closes it. */
function rawExchange(head: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([Buffer.from(head, 'utf8'), body]));
    });
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A reset after a complete answer (e.g. an early 4xx while the body was still being written) is fine.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

interface RawRequest {
  method: string;
  target: string;
  headers: Array<readonly [string, string]>;
  body: Buffer;
}

async function exchange(r: RawRequest): Promise<void> {
  cases++;
  const head =
    `${r.method} ${r.target} HTTP/1.1\r\n` +
    r.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    'connection: close\r\n\r\n';
  const raw = await rawExchange(head, r.body);
  const status = finalStatus(raw);
  const cls = status === null ? 'none' : `${String(status).charAt(0)}xx`;
  statusClasses.set(cls, (statusClasses.get(cls) ?? 0) + 1);
  const shown = `${r.method} ${r.target.slice(0, 200)} [${r.headers.map(([k]) => k).join(',')}]`;
  if (status === null) throw new Error(`${shown}: connection closed without a response`);
  if (status >= 500) throw new Error(`${shown} → ${status} ${raw.slice(0, 600)}`);
}

const groupSegment = fc.constantFrom(
  'oa',
  'oa',
  'oa',
  'an',
  'gm',
  '%6fa',
  '%6F%61',
  'o%61',
  'OA',
  'oa%2f',
  'oa%2F..',
  '%2e%2e',
  '..',
  '.',
  'unknown',
  'o%00a',
  'oa%',
  '%C3%A9',
  'oa;v=1',
  'oa%20',
  'x'.repeat(300),
);

const pathSegment = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'v1',
      'chat',
      'completions',
      'models',
      'messages',
      'v1beta',
      'm:generateContent',
    ),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '',
      '%2e%2e',
      '%2E%2e',
      '.%2e',
      '%2e',
      '..%2f',
      '..%2F..',
      '%2f',
      '%00',
      '%0d%0a',
      '%5c',
      '\\',
      '..\\..',
      '%',
      '%zz',
      '%C0%AE%C0%AE',
      '%ff',
      '~',
      '@',
      ':',
      ';x=1',
      '%3F',
      '%23',
      'é',
      '\u0000',
      '\t',
      'x'.repeat(9000),
    ),
    weight: 3,
  },
);

const queryPart = fc.option(
  fc
    .array(
      fc.tuple(
        fc.constantFrom('key', 'alt', 'beta', 'a', '%00', '', 'key[]', 'KEY'),
        fc.constantFrom('1', '', '%', '%zz', '%00', 'sse', PROXY_KEY, 'wrong', '..%2f', 'x'.repeat(3000)),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
  { freq: 3 },
);

/** How the request target is written: origin-form mostly, sometimes absolute-form or with a doubled slash. */
const targetForm = fc.constantFrom(
  'origin',
  'origin',
  'origin',
  'origin',
  'absolute-self',
  'absolute-other',
  'double-slash',
);

const target = fc
  .tuple(targetForm, groupSegment, fc.array(pathSegment, { maxLength: 6 }), queryPart)
  .map(([form, group, segments, query]) => {
    const path = `/proxy/${group}${segments.length > 0 ? `/${segments.join('/')}` : ''}${query ?? ''}`;
    if (form === 'absolute-self') return `http://127.0.0.1:${port}${path}`;
    if (form === 'absolute-other') return `http://evil.example${path}`;
    if (form === 'double-slash') return `/${path}`;
    return path;
  });

const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');

const jsonBody = fc.constantFrom(
  JSON.stringify(chatBody()),
  JSON.stringify(chatBody({ stream: true })),
  JSON.stringify(chatBody({ model: '\u0000' })),
  JSON.stringify(chatBody({ model: 'x'.repeat(5000) })),
  JSON.stringify(chatBody({ model: ['gpt-4o'] })),
  JSON.stringify(chatBody({ stream: 'yes' })),
  '{"model":',
  '[]',
  '',
  'not json',
  '{"a":'.repeat(3000),
);

/** Where the proxy key goes, and how it is spelled. */
const keyPlacement = fc.constantFrom(
  'bearer',
  'bearer',
  'x-api-key',
  'x-goog-api-key',
  'bearer-lower',
  'bearer-padded',
  'bearer-twice',
  'wrong-then-right',
  'empty-bearer',
  'basic',
  'none',
  'cookie',
  'unicode',
);

function keyHeaders(placement: string): Array<readonly [string, string]> {
  switch (placement) {
    case 'x-api-key':
      return [['x-api-key', PROXY_KEY]];
    case 'x-goog-api-key':
      return [['x-goog-api-key', PROXY_KEY]];
    case 'bearer-lower':
      return [['authorization', `bearer ${PROXY_KEY}`]];
    case 'bearer-padded':
      return [['authorization', `Bearer    ${PROXY_KEY}   `]];
    case 'bearer-twice':
      return [
        ['authorization', `Bearer ${PROXY_KEY}`],
        ['authorization', `Bearer ${PROXY_KEY}`],
      ];
    case 'wrong-then-right':
      return [
        ['x-api-key', 'wrong-key'],
        ['authorization', `Bearer ${PROXY_KEY}`],
      ];
    case 'empty-bearer':
      return [['authorization', 'Bearer ']];
    case 'basic':
      return [['authorization', `Basic ${Buffer.from(`u:${PROXY_KEY}`).toString('base64')}`]];
    case 'cookie':
      return [['cookie', `key=${PROXY_KEY}`]];
    case 'unicode':
      return [['authorization', `Bearer ${PROXY_KEY}\u00e9`]];
    case 'none':
      return [];
    default:
      return [['authorization', `Bearer ${PROXY_KEY}`]];
  }
}

const oddHeader: fc.Arbitrary<readonly [string, string]> = fc.constantFrom(
  ['x-request-id', '../../etc'],
  ['x-request-id', 'x'.repeat(500)],
  ['x-request-id', '\u00ff\u00fe'],
  ['content-type', 'application/json; charset=utf-16'],
  ['content-type', 'multipart/form-data'],
  ['content-type', ''],
  ['content-encoding', 'gzip'],
  ['content-encoding', 'br, zstd, unknown'],
  ['accept-encoding', 'br;q=abc, *;q=-1'],
  ['accept', 'text/event-stream'],
  ['x-forwarded-for', 'garbage, , ,'],
  ['x-forwarded-for', '1.2.3.4'],
  ['forwarded', 'for="[::1]";proto=https'],
  ['transfer-encoding', 'chunked'],
  ['transfer-encoding', 'gzip'],
  ['expect', '100-continue'],
  ['expect', 'x-unknown'],
  ['connection', 'x-api-key, authorization'],
  ['te', 'trailers'],
  ['upgrade', 'websocket'],
  ['host', ''],
  ['host', 'evil.example'],
  ['x-goog-api-key', ''],
  ['x-api-key', 'x'.repeat(9000)],
  ['x-empty', ''],
  ['x-obs-text', '\u00e9\u00ff'],
  ['anthropic-version', '\u0001'],
  ['x-stainless-retry-count', '-1'],
  ['x-session-id', '${API_KEY}'],
);

/** Decodes the unreserved %-escapes an upstream would (`%2e` → `.`) and lists the path's segments. */
function decodedSegments(path: string): string[] {
  return path.replace(/%(2e|2E|7e|7E)/g, (m) => decodeURIComponent(m)).split('/');
}

describe('proxy fuzzing', () => {
  it('answers hostile request targets without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(method, target, jsonBody, async (m, t, body) => {
        const bytes = Buffer.from(m === 'GET' || m === 'HEAD' ? '' : body);
        await exchange({
          method: m,
          target: t,
          headers: [
            ['host', `127.0.0.1:${port}`],
            ['authorization', `Bearer ${PROXY_KEY}`],
            ['content-type', 'application/json'],
            ['content-length', String(bytes.length)],
          ],
          body: bytes,
        });
      }),
      { seed: run.seed, numRuns: TARGET_RUNS },
    );
  }, 120_000);

  it('answers proxy keys in odd places and odd header values without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('oa', 'an', 'gm'),
        keyPlacement,
        fc.array(oddHeader, { maxLength: 4 }),
        jsonBody,
        async (group, placement, extra, body) => {
          const bytes = Buffer.from(body);
          await exchange({
            method: 'POST',
            target: `/proxy/${group}/v1/chat/completions`,
            headers: [
              ...(extra.some(([k]) => k === 'host') ? [] : [['host', `127.0.0.1:${port}`] as const]),
              ...keyHeaders(placement),
              ...extra,
              ...(extra.some(([k, v]) => k === 'transfer-encoding' && v === 'chunked')
                ? []
                : [['content-length', String(bytes.length)] as const]),
            ],
            body: extra.some(([k, v]) => k === 'transfer-encoding' && v === 'chunked')
              ? Buffer.concat([
                  Buffer.from(`${bytes.length.toString(16)}\r\n`),
                  bytes,
                  Buffer.from('\r\n0\r\n\r\n'),
                ])
              : bytes,
          });
        },
      ),
      { seed: run.seed, numRuns: HEADER_RUNS },
    );
  }, 120_000);

  it('never charged a key, reached outside a base path, or stopped serving', async () => {
    for (const [group, base] of Object.entries(GROUPS))
      for (const k of KEYS) {
        const h = gw.health(`${k}-${group}`, group);
        expect({ key: `${k}-${group}`, status: h.status, failures: h.failureCount }).toEqual({
          key: `${k}-${group}`,
          status: 'active',
          failures: 0,
        });
        expect(base.startsWith('/')).toBe(true);
      }
    for (const r of echo.requests) {
      const path = r.url.split('?')[0] ?? '';
      const base = Object.values(GROUPS).find((b) => path === b || path.startsWith(`${b}/`));
      expect(base, `forwarded outside every base path: ${r.url.slice(0, 200)}`).toBeDefined();
      const segments = decodedSegments(path);
      expect(
        segments.filter((s) => s === '..' || s === '.'),
        r.url.slice(0, 200),
      ).toEqual([]);
      expect(path.includes('\u0000') || /%00/i.test(path), r.url.slice(0, 200)).toBe(false);
    }
    expect((await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(cases).toBeGreaterThan(0);
    expect(rssMiB() - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  });
});
