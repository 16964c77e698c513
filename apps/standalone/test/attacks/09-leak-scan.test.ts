/**
 * Leak scan (issue 11, item 9 and the "Leak scan" suite): a sentinel of every secret class is planted, an upstream
 * that echoes every secret it can into its error messages is put behind standalone, every path that could carry a
 * secret out is driven (success, 4xx/5xx, timeout, reset, validation, key test, logs, CSV export, dashboard,
 * warnings, settings, groups, audit, /metrics, the console), and then every response (body and headers), every
 * process log line, the SQLite files and the console bundle are scanned for the sentinels — raw, JSON-escaped and
 * URL-encoded. Only the audited key export may hold upstream keys.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SecretClass } from '@keyway/observability';
import { SECRET_CLASS_NAMES } from '@keyway/observability';
import type { ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, tempDir } from '../harness';
import type { AlertReceiver } from '@keyway/alerts/testing';
import { startAlertReceiver } from '@keyway/alerts/testing';
import { startEchoUpstream } from './echo-upstream';
import { randomSecret } from './support';

const consoleDist = resolve(dirname(fileURLToPath(import.meta.url)), '../../../console/dist');

/**
 * The sentinels, per class. Each planter says how many values of its class the scenario plants; a class added to
 * SECRET_CLASSES without a planter here does not compile. `+/=` make the URL-encoded form differ from the raw one.
 */
/** One group per upstream behaviour; `model` picks the echo upstream's answer. */
const SCENARIOS = [
  { model: 'ok', channel: 'openai', keyPrefix: 'sk-proj-' },
  { model: 'e400', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'e401', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'e429', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'e500', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'hang', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'reset', channel: 'openai', keyPrefix: 'sk-' },
  { model: 'gemini', channel: 'gemini', keyPrefix: 'AIza' },
  { model: 'anthropic', channel: 'anthropic', keyPrefix: 'sk-ant-api03-' },
] as const;

const PLANT = {
  upstreamKey: () => SCENARIOS.map((s) => randomSecret(s.keyPrefix, 40)),
  proxyKey: () => [randomSecret('kw-global+/=', 28), randomSecret('kw-group+/=', 28)],
  authKey: () => [randomSecret('admin+/=', 32)],
  encryptionKey: () => [randomSecret('enc+/=', 40)],
  metricsToken: () => [randomSecret('metrics+/=', 28)],
  // A chat webhook's token (in the URL path) and a signing secret.
  alertChannel: () => [randomSecret('hooktoken', 28), randomSecret('whsec+/=', 28)],
} satisfies Record<SecretClass, () => string[]>;

const S = Object.fromEntries(SECRET_CLASS_NAMES.map((c) => [c, PLANT[c]()])) as Record<SecretClass, string[]>;
const [GLOBAL_PROXY, GROUP_PROXY] = S.proxyKey as [string, string];
const AUTH_KEY = S.authKey[0] as string;
const ENCRYPTION_KEY = S.encryptionKey[0] as string;
const METRICS_TOKEN = S.metricsToken[0] as string;
const [ALERT_TOKEN, ALERT_SECRET] = S.alertChannel as [string, string];
/** The upstream key of each scenario group, by the model name its requests use. */
const GROUP_KEYS = Object.fromEntries(SCENARIOS.map((s, i) => [s.model, S.upstreamKey[i] as string]));

/** Every form a secret takes when it leaves: as is, JSON-escaped, URL-encoded . */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const url = encodeURIComponent(secret);
  return [...new Set([secret, json, url])];
}

const needles = SECRET_CLASS_NAMES.flatMap((c) =>
  S[c].flatMap((secret) => forms(secret).map((form) => ({ secretClass: c, form }))),
);

interface Leak {
  where: string;
  secretClass: SecretClass;
  context: string;
}

function findLeaks(where: string, text: string): Leak[] {
  const out: Leak[] = [];
  for (const n of needles) {
    const i = text.indexOf(n.form);
    if (i >= 0)
      out.push({ where, secretClass: n.secretClass, context: text.slice(Math.max(0, i - 60), i + 80) });
  }
  return out;
}

/** Files under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('leak scan: no secret leaves the process', () => {
  let upstream: { url: string; server: Server };
  let receiver: AlertReceiver;
  let tmp: ReturnType<typeof tempDir>;
  let proc: ManagedProcess;
  let base: string;
  /** Every response seen, except the audited key export. */
  const responses: Array<{ where: string; text: string }> = [];
  let exportText = '';
  const groups: Record<string, number> = {};

  async function call(
    method: string,
    path: string,
    init: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: string | null } = {},
  ): Promise<{ status: number; text: string }> {
    const auth = init.auth === undefined ? `Bearer ${AUTH_KEY}` : init.auth;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await res.text();
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    responses.push({ where: `${method} ${path} → ${res.status}`, text: `${headers}\n\n${text}` });
    return { status: res.status, text };
  }

  const json = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body === undefined ? {} : { body });
    return { status: r.status, body: JSON.parse(r.text || 'null') as Record<string, unknown> };
  };

  /** A chat completion through the proxy with the model that picks the upstream's answer. */
  const chat = (group: string, model: string, key: string, extra: Record<string, unknown> = {}) =>
    call('POST', `/proxy/${group}/v1/chat/completions`, {
      auth: `Bearer ${key}`,
      // The caller pastes its own proxy key into the prompt: the echo quotes the body back.
      body: { model, messages: [{ role: 'user', content: `my key is ${key}` }], ...extra },
    });

  beforeAll(async () => {
    if (!statSync(join(consoleDist, 'index.html'), { throwIfNoEntry: false }))
      throw new Error(
        `the console is not built (${consoleDist}): run pnpm exec turbo run build --filter=@keyway/standalone`,
      );
    upstream = await startEchoUpstream([...S.proxyKey, AUTH_KEY, ENCRYPTION_KEY, METRICS_TOKEN]);
    // A receiver that echoes the channel's secrets back, as a misconfigured platform might in an error.
    receiver = await startAlertReceiver();
    receiver.answer((r) => ({
      status: r.url.includes('fail') ? 500 : 200,
      body: `${r.url} ${ALERT_SECRET}`,
    }));
    tmp = tempDir('leak-scan');
    const app = await startStandalone(tmp.dir, {
      AUTH_KEY,
      ENCRYPTION_KEY,
      METRICS_TOKEN,
      LOG_LEVEL: 'debug',
      CONSOLE_DIR: consoleDist,
    });
    proc = app.proc;
    base = app.url;
  }, 60_000);

  afterAll(async () => {
    await proc?.stop();
    await receiver?.close();
    await new Promise((done) => upstream?.server.close(done));
    upstream?.server.closeAllConnections();
    tmp?.cleanup();
  });

  it('plants a sentinel of every secret class', async () => {
    expect(Object.keys(S).sort()).toEqual([...SECRET_CLASS_NAMES].sort());
    expect((await json('PATCH', '/api/settings', { proxyKeys: [GLOBAL_PROXY] })).status).toBe(200);
    // Subscribed to what the scenarios below raise: key invalidations, exhausted groups.
    const channel = await json('POST', '/api/alerts/channels', {
      name: 'leak-hook',
      type: 'webhook',
      url: `${receiver.origin}/hooks/${ALERT_TOKEN}?token=${ALERT_TOKEN}`,
      secret: ALERT_SECRET,
      events: ['key.invalid', 'key.blacklisted', 'group.exhausted', 'group.storm', 'upstream.down'],
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const failing = await json('POST', '/api/alerts/channels', {
      name: 'leak-failing',
      type: 'dingtalk',
      url: `${receiver.origin}/fail/robot/send?access_token=${ALERT_TOKEN}`,
      secret: ALERT_SECRET,
      events: ['key.invalid', 'group.exhausted'],
    });
    expect(failing.status).toBe(201);
    await json('POST', `/api/alerts/channels/${channel.body['id'] as number}/test`);
    await json('POST', `/api/alerts/channels/${failing.body['id'] as number}/test`);
    await json('PATCH', `/api/alerts/channels/${failing.body['id'] as number}`, { secret: ALERT_SECRET });
    // Refused writes must not quote the URL or secret they carried.
    await json('POST', '/api/alerts/channels', {
      name: 'bad',
      type: 'nope',
      url: `ftp://x/${ALERT_TOKEN}`,
      secret: ALERT_SECRET,
      events: [],
    });
    for (const { model, channel } of SCENARIOS) {
      const key = GROUP_KEYS[model] as string;
      const created = await json('POST', '/api/groups', {
        name: `leak-${model}`,
        channel,
        upstreams: [{ url: upstream.url, weight: 1 }],
        testModel: model === 'ok' ? 'ok' : 'e401',
        proxyKeys: [GROUP_PROXY],
        config: {
          maxRetries: 0,
          requestLogBodies: true,
          ...(model === 'hang' ? { responseHeaderTimeoutSeconds: 1, requestTimeoutSeconds: 1 } : {}),
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body['id'] as number;
      groups[model] = id;
      expect((await json('POST', `/api/groups/${id}/keys`, { keys: [key] })).status).toBe(200);
    }
  });

  it('drives success, upstream errors, a timeout and a reset through the proxy', async () => {
    expect((await chat('leak-ok', 'ok', GROUP_PROXY)).status).toBe(200);
    expect((await chat('leak-ok', 'ok', GLOBAL_PROXY, { stream: true })).status).toBe(200);
    const viaQuery = await call(
      'POST',
      `/proxy/leak-ok/v1/chat/completions?key=${encodeURIComponent(GLOBAL_PROXY)}&x=1`,
      { auth: null, body: { model: 'ok', messages: [] } },
    );
    expect(viaQuery.status).toBe(200);
    for (const model of ['e400', 'e429', 'e500', 'e401']) {
      const r = await chat(`leak-${model}`, model, model === 'e500' ? GLOBAL_PROXY : GROUP_PROXY);
      expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    }
    expect((await chat('leak-hang', 'hang', GROUP_PROXY)).status).toBeGreaterThanOrEqual(500);
    expect((await chat('leak-reset', 'reset', GROUP_PROXY)).status).toBeGreaterThanOrEqual(500);
    // Gemini clients put the key in the query string; Anthropic clients in x-api-key.
    for (const model of ['ok', 'e400']) {
      const r = await call(
        'POST',
        `/proxy/leak-gemini/v1beta/models/${model}:generateContent?key=${encodeURIComponent(GROUP_PROXY)}`,
        { auth: null, body: { contents: [{ parts: [{ text: `my key is ${GROUP_PROXY}` }] }] } },
      );
      expect(r.status, r.text).toBe(model === 'ok' ? 200 : 400);
    }
    const anthropic = await call('POST', '/proxy/leak-anthropic/v1/messages', {
      auth: null,
      headers: { 'x-api-key': GLOBAL_PROXY, 'anthropic-version': '2023-06-01' },
      body: { model: 'e401', max_tokens: 1, messages: [{ role: 'user', content: `key ${GLOBAL_PROXY}` }] },
    });
    expect(anthropic.status, anthropic.text).toBeGreaterThanOrEqual(400);
    // A caller presenting the admin key (or another secret) as its proxy key is refused without an echo.
    expect((await chat('leak-ok', 'ok', AUTH_KEY)).status).toBe(401);
    expect((await chat('leak-ok', 'ok', ENCRYPTION_KEY)).status).toBe(401);
  });

  it('drives the key test, a validation task and writes that fail validation', async () => {
    const keys = await json('GET', `/api/groups/${groups['e401']}/keys`);
    const keyId = (keys.body['items'] as Array<{ id: number }>)[0]?.id;
    expect(keyId).toBeTypeOf('number');
    await json('POST', `/api/keys/${keyId}/test`);
    for (const model of ['e400', 'gemini', 'anthropic']) {
      const task = await json('POST', `/api/groups/${groups[model]}/keys/validate`, { status: 'all' });
      expect(task.status).toBe(202);
      const taskId = String(task.body['taskId']);
      for (let i = 0; i < 100; i++) {
        const t = await json('GET', `/api/tasks/${taskId}`);
        if (t.body['state'] === 'succeeded' || t.body['state'] === 'failed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Bad writes that carry secrets: their validation errors must not quote them.
    await json('PATCH', '/api/settings', { proxyKeys: [GLOBAL_PROXY], unknownSetting: AUTH_KEY });
    await json('POST', '/api/groups', { name: 'BAD NAME', proxyKeys: [GROUP_PROXY], upstreams: GROUP_PROXY });
    await json('POST', `/api/groups/${groups['ok']}/keys`, { keys: GROUP_KEYS['ok'], extra: ENCRYPTION_KEY });
    await call('POST', '/api/groups', { raw: `{"proxyKeys":["${GROUP_PROXY}"` });
    await call('POST', '/api/auth/login', { auth: null, body: { authKey: ENCRYPTION_KEY } });
    await call('GET', '/api/settings', { auth: `Bearer ${ENCRYPTION_KEY}` });
    await call('GET', '/metrics', { auth: `Bearer ${AUTH_KEY}` });
  });

  it('reads back logs, the CSV export, dashboard, warnings, settings, groups, audit, tasks and /metrics', async () => {
    // Request logs are written in batches: wait until every proxied request shows.
    for (let i = 0; i < 100; i++) {
      const logs = await json('GET', '/api/logs?pageSize=100');
      if ((logs.body['total'] as number) >= 12) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const reads = [
      '/api/logs?pageSize=1000',
      '/api/logs?result=error&pageSize=1000',
      `/api/logs?search=${encodeURIComponent('Incorrect')}`,
      '/api/logs/export',
      '/api/dashboard/summary?range=24h',
      '/api/dashboard/timeseries?range=24h',
      '/api/dashboard/warnings',
      '/api/settings',
      '/api/groups',
      '/api/audit?pageSize=1000',
      '/api/tasks',
      '/api/alerts/channels',
      '/api/alerts/history?pageSize=1000',
      '/api/auth/session',
      '/api/auth/sessions',
      '/api/openapi.json',
      '/health',
      '/ready',
    ];
    for (const id of Object.values(groups))
      reads.push(`/api/groups/${id}`, `/api/groups/${id}/keys`, `/api/groups/${id}/stats`);
    for (const path of reads) await call('GET', path);
    const metrics = await call('GET', '/metrics', { auth: `Bearer ${METRICS_TOKEN}` });
    expect(metrics.status).toBe(200);
    // The channel was driven: alerts (and the test button's) reached the receiver.
    expect(receiver.received.length).toBeGreaterThan(1);
    const csv = await call('GET', '/api/logs/export');
    expect(csv.text).toContain('leak-e401');

    // The console as served: index.html and every asset it references.
    const index = await call('GET', '/', { auth: null });
    for (const m of index.text.matchAll(/(?:src|href)="(\/[^"]+)"/g)) await call('GET', m[1] as string);

    // The audited export is the one place upstream keys may appear: it proves the scan would see them.
    const res = await fetch(`${base}/api/groups/${groups['ok']}/keys/export`, {
      headers: { authorization: `Bearer ${AUTH_KEY}` },
    });
    exportText = await res.text();
    expect(exportText).toContain(GROUP_KEYS['ok']);
  });

  it('finds no sentinel in any response, log line, database file or the console bundle', async () => {
    expect(await proc.stop('SIGTERM')).toBe(0);
    const leaks: Leak[] = [];
    for (const r of responses) leaks.push(...findLeaks(`response ${r.where}`, r.text));
    const lines = proc.lines;
    for (const [i, line] of lines.entries()) leaks.push(...findLeaks(`log line ${i + 1}`, line));
    let dbBytes = 0;
    for (const name of readdirSync(tmp.dir).filter((n) => n.startsWith('keyway.db'))) {
      const bytes = readFileSync(join(tmp.dir, name));
      dbBytes += bytes.length;
      // latin1 keeps every byte; the sentinels are ASCII, so a stored copy shows whatever the page layout.
      leaks.push(...findLeaks(`database ${name}`, bytes.toString('latin1')));
    }
    let bundleBytes = 0;
    for (const file of filesUnder(consoleDist)) {
      const bytes = readFileSync(file);
      bundleBytes += bytes.length;
      leaks.push(...findLeaks(`console ${file.slice(consoleDist.length)}`, bytes.toString('latin1')));
    }
    const positive = findLeaks('key export', exportText);
    console.log(
      `leak scan: ${SECRET_CLASS_NAMES.length} secret classes, ${Object.values(S).flat().length} sentinels, ` +
        `${responses.length} responses, ${lines.length} log lines, DB ${dbBytes} bytes, bundle ${bundleBytes} bytes — ` +
        `${leaks.length} sentinels found (control: ${positive.length} in the audited key export)`,
    );
    expect(positive.length).toBeGreaterThan(0);
    expect(responses.length).toBeGreaterThan(40);
    expect(leaks.map((l) => `${l.secretClass} in ${l.where}: …${l.context}…`)).toEqual([]);
  });
});
