import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';
import type { LoggerOptions } from './logger';
import { SecretRegistry } from './secret-registry';

const OPENAI_KEY = 'sk-proj-AFAKEkeyForMaskTestsNotRea0123456789abcd';
const ANTHROPIC_KEY = 'sk-ant-api03-FAKE-mask-test-key-00000000000000000-_zyxwvu';
const GEMINI_KEY = 'AIzaSy-FAKE-gemini-test-key-00005p6Q';
const COOKIE = 'session=9f8e7d6c5b4a39281706f5e4d3c2b1a0';

/** A logger writing into an array, plus the captured lines. */
function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    format: 'json',
    destination: { write: (s: string) => lines.push(s) },
    ...options,
  });
  return { logger, lines, text: () => lines.join('') };
}

function lastRecord(lines: string[]): Record<string, unknown> {
  return JSON.parse(lines[lines.length - 1] ?? 'null') as Record<string, unknown>;
}

describe('createLogger — JSON format', () => {
  it('writes one JSON line per call with a level label, ISO time and the logger name', () => {
    const { logger, lines } = capture({ name: 'gateway' });
    logger.info({ groupName: 'openai' }, 'request done');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const rec = lastRecord(lines);
    expect(rec).toMatchObject({ level: 'info', name: 'gateway', groupName: 'openai', msg: 'request done' });
    expect(String(rec['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level threshold', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines).toHaveLength(1);
    expect(lastRecord(lines)['msg']).toBe('shown');
  });
});

describe('createLogger — header redaction', () => {
  it('never prints credential headers under req/res/request/headers', () => {
    const { logger, lines, text } = capture();
    logger.info({
      req: {
        method: 'POST',
        headers: {
          authorization: `Bearer ${OPENAI_KEY}`,
          'x-api-key': ANTHROPIC_KEY,
          'x-goog-api-key': GEMINI_KEY,
          cookie: COOKIE,
          'proxy-authorization': 'Basic dXNlcjpodW50ZXIy',
          'content-type': 'application/json',
        },
      },
      res: { statusCode: 200, headers: { 'set-cookie': [COOKIE] } },
      request: { headers: { authorization: `Bearer ${OPENAI_KEY}` } },
      headers: { 'x-api-key': ANTHROPIC_KEY },
    });
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY, COOKIE, 'dXNlcjpodW50ZXIy'])
      expect(text()).not.toContain(secret);
    const rec = lastRecord(lines) as {
      req: { headers: Record<string, unknown> };
      res: { headers: Record<string, unknown> };
      request: { headers: Record<string, unknown> };
      headers: Record<string, unknown>;
    };
    expect(rec.req.headers).toEqual({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'x-goog-api-key': '[redacted]',
      cookie: '[redacted]',
      'proxy-authorization': '[redacted]',
      'content-type': 'application/json',
    });
    expect(rec.res.headers['set-cookie']).toBe('[redacted]');
    expect(rec.request.headers['authorization']).toBe('[redacted]');
    expect(rec.headers['x-api-key']).toBe('[redacted]');
  });

  it('redacts title-case header names of outgoing request objects too', () => {
    const { logger, text } = capture();
    logger.debug({
      upstream: { headers: { Authorization: `Bearer ${OPENAI_KEY}`, 'X-Api-Key': ANTHROPIC_KEY } },
    });
    expect(text()).not.toContain(OPENAI_KEY);
    expect(text()).not.toContain(ANTHROPIC_KEY);
  });

  it('does not modify the object that was logged', () => {
    const { logger } = capture();
    const req = { headers: { authorization: `Bearer ${OPENAI_KEY}` } };
    logger.info({ req });
    expect(req.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  });
});

describe('createLogger — secret fields', () => {
  it.each(['key', 'apiKey', 'authKey', 'proxyKey', 'keyValue', 'upstreamKey', 'secret', 'password', 'token'])(
    'redacts a field named %s at the top level and one level deep',
    (field) => {
      const { logger, lines, text } = capture();
      logger.info({ [field]: 'hunter2-top-level-value', nested: { [field]: 'hunter2-nested-value' } });
      expect(text()).not.toContain('hunter2');
      const rec = lastRecord(lines) as Record<string, unknown> & { nested: Record<string, unknown> };
      expect(rec[field]).toBe('[redacted]');
      expect(rec.nested[field]).toBe('[redacted]');
    },
  );

  it('keeps values that are already masked, and null', () => {
    const { logger, lines } = capture();
    logger.info({ key: 'sk-pr…abcd', token: null, attempt: { key: '***…' } });
    expect(lastRecord(lines)).toMatchObject({ key: 'sk-pr…abcd', token: null, attempt: { key: '***…' } });
  });

  it('redacts secret fields in child-logger bindings', () => {
    const { logger, text } = capture();
    logger.child({ authKey: 'bound-secret-value-123' }).info('hello');
    expect(text()).not.toContain('bound-secret-value-123');
  });
});

describe('createLogger — key material in URLs and messages', () => {
  it('scrubs ?key= from url, path and upstreamUrl fields, nested and in arrays', () => {
    const { logger, lines, text } = capture();
    const url = `https://generativelanguage.googleapis.com/v1beta/models/gemini:generateContent?alt=sse&key=${GEMINI_KEY}`;
    logger.info({
      url,
      req: { path: `/proxy/gemini/v1beta/models?key=${GEMINI_KEY}` },
      attempts: [{ upstreamUrl: url, statusCode: 429 }],
    });
    expect(text()).not.toContain(GEMINI_KEY);
    const rec = lastRecord(lines) as {
      url: string;
      attempts: Array<{ upstreamUrl: string; statusCode: number }>;
    };
    expect(rec.url).toBe(
      'https://generativelanguage.googleapis.com/v1beta/models/gemini:generateContent?alt=sse&key=[redacted]',
    );
    expect(rec.attempts[0]?.statusCode).toBe(429);
  });

  it('scrubs ?key=, Bearer tokens and provider key formats from the message, including interpolated arguments', () => {
    const { logger, text } = capture();
    logger.warn('fetch failed for https://x.test/v1?key=%s', GEMINI_KEY);
    logger.warn(`upstream rejected Authorization: Bearer ${OPENAI_KEY}`);
    logger.warn({ group: 'claude' }, 'key %s was revoked', ANTHROPIC_KEY);
    expect(text()).not.toContain(GEMINI_KEY);
    expect(text()).not.toContain(OPENAI_KEY);
    expect(text()).not.toContain(ANTHROPIC_KEY);
    expect(text()).toContain('?key=[redacted]');
    expect(text()).toContain('Bearer [redacted]');
  });

  it('scrubs key material from err.message, err.stack and nested errors', () => {
    const { logger, lines, text } = capture();
    const cause = new Error(`connect to ?key=${GEMINI_KEY} refused`);
    const err = Object.assign(new Error(`invalid api key ${OPENAI_KEY}`, { cause }), {
      original: new Error(`bearer ${ANTHROPIC_KEY}`),
    });
    logger.error(err);
    logger.error({ err }, 'upstream call failed');
    logger.error({ error: err }, 'also under "error"');
    expect(text()).not.toContain(OPENAI_KEY);
    expect(text()).not.toContain(GEMINI_KEY);
    expect(text()).not.toContain(ANTHROPIC_KEY);
    const rec = lastRecord(lines) as { error: { type: string; message: string; stack: string } };
    expect(rec.error.type).toBe('Error');
    expect(rec.error.stack).toContain('logger.test.ts');
    // The caller's error object is left intact.
    expect(err.message).toContain(OPENAI_KEY);
  });
});

describe('createLogger — registered secrets', () => {
  const AUTH_KEY = 'kw-admin-3f9a1c7e5b2d4f6a8c0e';

  it('masks a registered secret anywhere in the line: deep fields, arrays, bindings, keys of objects', () => {
    const { logger, lines, text } = capture();
    const child = logger.child({ boundNote: `auth=${AUTH_KEY}` });
    logger.registerSecret(AUTH_KEY);
    child.info(
      { a: { b: { c: { d: AUTH_KEY } } }, list: ['x', `prefix${AUTH_KEY}suffix`], [AUTH_KEY]: 1 },
      'login with %s',
      AUTH_KEY,
    );
    expect(text()).not.toContain(AUTH_KEY);
    expect(text()).toContain('kw-ad…8c0e');
    expect(() => lastRecord(lines)).not.toThrow();
  });

  it('masks the URL-encoded and JSON-escaped forms of a secret', () => {
    const { logger, lines, text } = capture();
    const odd = 'pa$$ "word"/with+odd=chars';
    logger.registerSecret(odd);
    logger.info({ query: `q=${encodeURIComponent(odd)}`, raw: odd });
    expect(text()).not.toContain(encodeURIComponent(odd));
    expect(text()).not.toContain(JSON.stringify(odd).slice(1, -1));
    const rec = lastRecord(lines) as { raw: string };
    expect(rec.raw).not.toContain('word');
  });

  it('leaves the line valid JSON when a secret also appears outside strings or inside an escape', () => {
    const { logger, lines } = capture();
    logger.registerSecret('12345678');
    logger.registerSecret('nabcdefgh');
    logger.info({ count: 12345678, text: 'id 12345678', multi: 'line1\nabcdefgh' });
    const rec = lastRecord(lines);
    expect(rec['count']).toBe(12345678);
    expect(rec['text']).toBe('id ***…');
    expect(rec['multi']).toBe('line1\nabcdefgh');
  });

  it('shares one registry between loggers and with children created earlier', () => {
    const secrets = new SecretRegistry();
    const a = capture({ secrets });
    const b = capture({ secrets });
    const child = a.logger.child({ module: 'pool' });
    b.logger.registerSecret(AUTH_KEY);
    child.info(AUTH_KEY);
    a.logger.info(AUTH_KEY);
    expect(a.text()).not.toContain(AUTH_KEY);
    expect(a.logger.secrets).toBe(secrets);
  });

  it('masks every one of 1,000 registered keys', () => {
    const { logger, text } = capture();
    const keys = Array.from(
      { length: 1000 },
      (_, i) => `sk-${String(i).padStart(4, '0')}-${'x'.repeat(20)}${i}`,
    );
    logger.secrets.addAll(keys);
    for (const k of keys.filter((_, i) => i % 97 === 0)) logger.info({ note: `using ${k} now` });
    for (const k of keys) expect(text()).not.toContain(k);
  });
});

describe('createLogger — pretty format', () => {
  it('writes human-readable lines: time, level, name, message, then key=value fields', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'pretty',
      name: 'gw',
      colors: false,
      destination: { write: (s: string) => lines.push(s) },
    });
    logger.info({ group: 'openai', status: 200, note: 'two words' }, 'request done');
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}gw: request done group=openai status=200 note="two words"\n$/,
    );
  });

  it('applies every redaction before formatting', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'pretty',
      colors: false,
      destination: { write: (s: string) => lines.push(s) },
    });
    logger.registerSecret('registered-secret-value');
    logger.info(
      { req: { headers: { authorization: `Bearer ${OPENAI_KEY}` } }, url: `/x?key=${GEMINI_KEY}` },
      'registered-secret-value',
    );
    const out = lines.join('');
    expect(out).not.toContain(OPENAI_KEY);
    expect(out).not.toContain(GEMINI_KEY);
    expect(out).not.toContain('registered-secret-value');
  });

  it('prints an error stack indented below the line', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      format: 'pretty',
      colors: false,
      destination: { write: (s: string) => lines.push(s) },
    });
    logger.error(new Error('boom'));
    expect(lines[0]).toMatch(/ERROR boom\n {4}Error: boom\n {8}at /);
  });
});
