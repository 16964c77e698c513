/**
 * Test harness for the gateway: a real node socket serving `createApp(deps).fetch`, a runtime compiled from a
 * `ConfigSnapshot`, an in-memory key pool, real upstream clients, and sinks that collect what the gateway
 * reports (request records, warnings, metrics) into arrays the tests can inspect.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type {
  Affinity,
  KeyLimits,
  AccessKeyLimits,
  AccessKeySnapshot,
  Channel,
  ConfigSnapshot,
  GroupSnapshot,
  HeaderRule,
  KeyStatus,
  RequestLogRecord,
  Settings,
} from '@keyway/contracts';
import {
  NO_LIMITS,
  defaultAffinity,
  dailyResetZone,
  defaultSettings,
  groupConfigSchema,
} from '@keyway/contracts';
import type { KeyHealth } from '@keyway/core';
import { MemoryKeyPool, hashProxyKey } from '@keyway/keypool';
import { LocalCounters } from '@keyway/limits';
import type { Clock, CounterLayer } from '@keyway/limits';
import { SecretRegistry } from '@keyway/observability';
import { headSafeFetch } from '@keyway/server';
import { freePort } from '@keyway/testing';
import { compileRuntime, createApp, createUpstreamClients } from '../src/index';
import type { GatewayRuntime, RequestLogSink, UpstreamClients } from '../src/index';

/** The proxy key every group accepts unless a test says otherwise. */
export const PROXY_KEY = 'kw-proxy-test-key-5f1d2c3b4a69';

export type GatewaySettings = Omit<Settings, 'proxyKeys'>;

/**
 * A group's setting overrides (what contracts' `GroupConfig` describes; typed here from `Settings` so the
 * harness does not depend on how `GroupOverridableKey` is derived).
 */
export type GroupOverrides = Partial<
  Omit<GatewaySettings, 'appUrl' | 'requestLogging' | 'requestLogRetentionDays' | 'maxConcurrentRequests'>
>;

/** An upstream key as loaded into the pool. */
export interface KeySpec {
  value: string;
  status?: KeyStatus;
  failureCount?: number;
  cooldownUntil?: number | null;
}

/** A group, in the terms a test thinks in (names instead of ids, plain proxy keys instead of hashes). */
export interface GroupSpec {
  name: string;
  channel?: Channel;
  type?: 'standard' | 'aggregate';
  /** Upstream base URLs (weight 1) or `{ url, weight }`. */
  upstreams?: ReadonlyArray<string | { url: string; weight: number }>;
  keys?: ReadonlyArray<string | KeySpec>;
  /** Plain proxy keys of the group (hashed into the snapshot). Default `[PROXY_KEY]`. */
  proxyKeys?: readonly string[];
  paramOverrides?: Record<string, unknown>;
  modelRedirects?: Record<string, string>;
  modelRedirectStrict?: boolean;
  /** Model globs for the key-routed endpoints. */
  models?: string[];
  headerRules?: HeaderRule[];
  config?: GroupOverrides;
  /** Aggregate members by name. */
  subGroups?: ReadonlyArray<{ group: string; weight: number }>;
  /** Pacing limits per upstream key. */
  keyLimits?: KeyLimits | null;
  affinity?: Affinity;
  /** Resolved zone daily key limits reset in (default: the channel's). */
  dailyResetTimeZone?: string;
  /** Caller dialects the group also accepts (format translation). */
  translate?: Array<'openai' | 'anthropic'>;
}

export interface GatewayOptions {
  groups: readonly GroupSpec[];
  /** Global settings over `defaultSettings`. */
  settings?: Partial<GatewaySettings>;
  /** Plain global proxy keys (accepted by every group). Default none. */
  globalProxyKeys?: readonly string[];
  accessKeys?: ConfigSnapshot['accessKeys'];
  prices?: ConfigSnapshot['prices'];
  /** GatewayDeps.isTrustedProxy. */
  isTrustedProxy?: (address: string) => boolean;
  /** Secrets the process knows (as the logger's registry would, e.g. AUTH_KEY). */
  secrets?: readonly string[];
  /** The clock of the counters and of access-key expiry (default: the system clock). */
  clock?: Clock;
  /** The counter layer (default: exact in-memory `LocalCounters` on `clock`, as standalone runs). */
  counters?: CounterLayer;
}

/** A warn/error/info line the gateway logged. */
export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface TestGateway {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/proxy/{group}` */
  base(group: string): string;
  readonly pool: MemoryKeyPool;
  readonly clients: UpstreamClients;
  /** Records the log sink received (subject to `requestLogging`). */
  readonly records: RequestLogRecord[];
  /** Records the usage sink received (every finished request, whatever `requestLogging` says). */
  readonly usage: RequestLogRecord[];
  /** Every finished request, as the metrics hook saw it (not subject to `requestLogging`). */
  readonly completed: Array<{ group: string; status: number }>;
  /** Groups of requests refused for a missing or wrong proxy key, as the metrics hook saw them. */
  readonly authFailures: string[];
  /** Finished requests of access keys, as the metrics hook saw them (by name). */
  readonly accessKeyRequests: Array<{ name: string; status: number; tokens: number }>;
  /** The access keys' counter layer. */
  readonly counters: CounterLayer;
  readonly logs: LoggedLine[];
  /** The snapshot currently served. */
  readonly snapshot: ConfigSnapshot;
  groupId(name: string): number;
  /** Id of an upstream key by value (give the group when the same value is in several groups). */
  keyId(value: string, group?: string): number;
  /** Current health of an upstream key (by value). */
  health(value: string, group?: string): KeyHealth;
  /** Sets every key back to active (as an operator's "restore" does), between tests that blacklist keys. */
  restoreKeys(): void;
  /** Swaps the runtime (as a config reload does). */
  reconfigure(snapshot: ConfigSnapshot): void;
  /** Resolves once at least `count` records were logged. */
  waitForRecords(count: number, timeoutMs?: number): Promise<RequestLogRecord[]>;
  /** Resolves once at least `count` requests finished (logged or not). */
  waitForCompleted(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

let nextKeyId = 1;

/** Builds a snapshot from group specs; keys are returned separately (they live in the pool, not the snapshot). */
export function buildSnapshot(
  options: GatewayOptions,
  version = 1,
): {
  snapshot: ConfigSnapshot;
  keys: Map<number, Array<KeySpec & { id: number }>>;
} {
  const ids = new Map<string, number>();
  options.groups.forEach((g, i) => ids.set(g.name, i + 1));
  const keys = new Map<number, Array<KeySpec & { id: number }>>();
  const groups: GroupSnapshot[] = options.groups.map((g) => {
    const id = ids.get(g.name) as number;
    keys.set(
      id,
      (g.keys ?? []).map((k) => ({ ...(typeof k === 'string' ? { value: k } : k), id: nextKeyId++ })),
    );
    return {
      id,
      name: g.name,
      type: g.type ?? 'standard',
      channel: g.channel ?? 'openai',
      upstreams: (g.upstreams ?? []).map((u) => (typeof u === 'string' ? { url: u, weight: 1 } : u)),
      testModel: '',
      validationEndpoint: '',
      proxyKeyHashes: (g.proxyKeys ?? [PROXY_KEY]).map(hashProxyKey),
      paramOverrides: g.paramOverrides ?? {},
      modelRedirects: g.modelRedirects ?? {},
      modelRedirectStrict: g.modelRedirectStrict ?? false,
      headerRules: g.headerRules ?? [],
      config: groupConfig(g.config),
      subGroups: (g.subGroups ?? []).map((s) => {
        const groupId = ids.get(s.group);
        if (groupId === undefined) throw new Error(`unknown sub-group ${s.group}`);
        return { groupId, weight: s.weight };
      }),
      models: g.models ?? [],
      keyLimits: g.keyLimits ?? null,
      affinity: g.affinity ?? defaultAffinity,
      dailyResetTimeZone: g.dailyResetTimeZone ?? dailyResetZone(g.channel ?? 'openai', null),
      ...(g.translate ? { translate: g.translate } : {}),
    };
  });
  const { proxyKeys: _omit, ...base } = defaultSettings;
  return {
    snapshot: {
      version,
      settings: { ...base, ...options.settings },
      proxyKeyHashes: (options.globalProxyKeys ?? []).map(hashProxyKey),
      groups,
      accessKeys: options.accessKeys ?? [],
      prices: options.prices ?? [],
    },
    keys,
  };
}

/** An access key of a snapshot: every group, any model, no limits, enabled — unless `fields` says otherwise. */
export function accessKeySnapshot(
  id: number,
  name: string,
  secret: string,
  fields: Partial<Omit<AccessKeySnapshot, 'limits' | 'hash'>> & { limits?: Partial<AccessKeyLimits> } = {},
): AccessKeySnapshot {
  const { limits, ...rest } = fields;
  return {
    id,
    name,
    hash: hashProxyKey(secret),
    groups: '*',
    models: [],
    expiresAt: null,
    enabled: true,
    ...rest,
    limits: { ...NO_LIMITS, ...limits },
  };
}

/** Validated like the control plane does (a typo in a test's config fails loudly instead of being ignored). */
function groupConfig(overrides: GroupOverrides | undefined): GroupSnapshot['config'] {
  return groupConfigSchema.parse(overrides ?? {});
}

/** Starts a gateway on 127.0.0.1 with a random port. */
export async function startGateway(options: GatewayOptions): Promise<TestGateway> {
  const { snapshot: first, keys } = buildSnapshot(options);
  let snapshot = first;
  let runtime: GatewayRuntime = compileRuntime(first);
  const pool = new MemoryKeyPool();
  const keyIndex = new Map<string, Array<{ groupId: number; id: number }>>();
  for (const [groupId, list] of keys) {
    await pool.load(
      groupId,
      list.map((k) => ({
        id: k.id,
        groupId,
        value: k.value,
        status: k.status ?? 'active',
        failureCount: k.failureCount ?? 0,
        cooldownUntil: k.cooldownUntil ?? null,
        lastError: null,
      })),
    );
    for (const k of list) keyIndex.set(k.value, [...(keyIndex.get(k.value) ?? []), { groupId, id: k.id }]);
  }

  const records: RequestLogRecord[] = [];
  const usage: RequestLogRecord[] = [];
  const completed: Array<{ group: string; status: number }> = [];
  const authFailures: string[] = [];
  const accessKeyRequests: Array<{ name: string; status: number; tokens: number }> = [];
  const logs: LoggedLine[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const logSink: RequestLogSink = {
    push(record) {
      // A deep copy: the record must be complete when pushed, later mutation would hide bugs.
      records.push(structuredClone(record));
      notify();
    },
    flush: () => Promise.resolve(),
  };
  const clients = createUpstreamClients();
  const counters = options.counters ?? new LocalCounters(options.clock ? { clock: options.clock } : {});
  const app = createApp({
    runtime: () => runtime,
    keyPool: pool,
    logSink,
    usageSink: { push: (record) => void usage.push(structuredClone(record)), flush: () => Promise.resolve() },
    clients,
    logger: {
      info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
      error: (obj, msg) => logs.push({ level: 'error', obj, msg }),
      ...(options.secrets ? { secrets: new SecretRegistry(options.secrets) } : {}),
    },
    metrics: {
      request(group, status) {
        completed.push({ group, status });
        notify();
      },
      inFlight: () => undefined,
      proxyAuthFailure: (group) => authFailures.push(group),
      accessKeyRequest: (name, r) =>
        accessKeyRequests.push({
          name,
          status: r.statusCode,
          tokens: (r.promptTokens ?? 0) + (r.completionTokens ?? 0),
        }),
    },
    counters,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.isTrustedProxy ? { isTrustedProxy: options.isTrustedProxy } : {}),
  });

  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      { fetch: headSafeFetch(app.fetch) as typeof app.fetch, port: 0, hostname: '127.0.0.1' },
      () => resolve(s as Server),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const waitFor = (check: () => boolean, timeoutMs: number, what: () => string): Promise<void> => {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(listener);
        reject(new Error(`gateway harness: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const listener = () => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.delete(listener);
        resolve();
      };
      waiters.add(listener);
    });
  };

  const lookup = (value: string, group?: string) => {
    const all = keyIndex.get(value) ?? [];
    const groupId = group === undefined ? undefined : snapshot.groups.find((g) => g.name === group)?.id;
    const found = groupId === undefined ? all : all.filter((k) => k.groupId === groupId);
    if (found.length !== 1) throw new Error(`key ${value} is in ${found.length} group(s); name the group`);
    return found[0] as { groupId: number; id: number };
  };

  return {
    url,
    base: (group) => `${url}/proxy/${group}`,
    pool,
    clients,
    records,
    usage,
    completed,
    authFailures,
    accessKeyRequests,
    counters,
    logs,
    get snapshot() {
      return snapshot;
    },
    groupId(name) {
      const g = snapshot.groups.find((x) => x.name === name);
      if (!g) throw new Error(`unknown group ${name}`);
      return g.id;
    },
    keyId: (value, group) => lookup(value, group).id,
    health(value, group) {
      const k = lookup(value, group);
      const h = pool.health(k.groupId, k.id);
      if (!h) throw new Error(`no health for ${value}`);
      return h;
    },
    restoreKeys() {
      for (const list of keyIndex.values()) for (const k of list) pool.setStatus(k.groupId, k.id, 'active');
    },
    reconfigure(next) {
      snapshot = next;
      runtime = compileRuntime(next);
    },
    async waitForRecords(count, timeoutMs = 5000) {
      await waitFor(
        () => records.length >= count,
        timeoutMs,
        () => `${count} record(s), have ${records.length}`,
      );
      return records;
    },
    waitForCompleted(count, timeoutMs = 5000) {
      return waitFor(
        () => completed.length >= count,
        timeoutMs,
        () => `${count} finished request(s), have ${completed.length}`,
      );
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await clients.close();
      await pool.close();
      // A counter layer the test passed in is the test's to close.
      if (!options.counters) await counters.close();
    },
  };
}

/** A copy of `snapshot` with global settings changed. */
export function withSettings(snapshot: ConfigSnapshot, settings: Partial<GatewaySettings>): ConfigSnapshot {
  return { ...snapshot, version: snapshot.version + 1, settings: { ...snapshot.settings, ...settings } };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP client helpers

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Send the body with chunked transfer encoding in pieces of this size (no content-length). */
  chunkSize?: number;
}

/**
 * One HTTP request with node:http (so any header can be sent, hop-by-hop ones included), on a fresh
 * connection. Resolves with the whole response; rejects if the connection breaks before the response ends.
 */
export function send(url: string, options: SendOptions = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: OutgoingHttpHeaders = { ...options.headers };
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body && !options.chunkSize && headers['content-length'] === undefined)
      headers['content-length'] = String(body.length);
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: options.method ?? (body ? 'POST' : 'GET'),
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buf,
            text,
            json<T>() {
              return JSON.parse(text) as T;
            },
          });
        });
      },
    );
    req.on('error', reject);
    if (body && options.chunkSize) {
      for (let i = 0; i < body.length; i += options.chunkSize)
        req.write(body.subarray(i, i + options.chunkSize));
      req.end();
    } else req.end(body);
  });
}

/** A JSON POST carrying the proxy key as a Bearer token. */
export function postJson(
  url: string,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): Promise<SimpleResponse> {
  return send(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** A minimal chat completion request body. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], ...extra };
}

/** One chunk of a response body and when it arrived. */
export interface TimedChunk {
  at: number;
  text: string;
}

/**
 * Reads a fetch response body chunk by chunk, noting arrival times. `error` is set when the body ended with
 * an error (a broken connection) instead of a clean end.
 */
export async function readTimed(
  res: Response,
): Promise<{ chunks: TimedChunk[]; text: string; error?: unknown }> {
  const chunks: TimedChunk[] = [];
  const decoder = new TextDecoder();
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push({ at: Date.now(), text: decoder.decode(value, { stream: true }) });
    }
  } catch (error) {
    return { chunks, text: chunks.map((c) => c.text).join(''), error };
  }
  return { chunks, text: chunks.map((c) => c.text).join('') };
}

/** SSE `data:` payloads of a text, JSON-parsed (non-JSON lines such as `[DONE]` skipped). */
export function sseData(text: string): unknown[] {
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      out.push(JSON.parse(line.slice(5).trim()));
    } catch {
      // [DONE]
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Upstream helpers

/** A request an echo upstream received, bytes and all. */
export interface EchoedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A bare upstream that records raw request bytes (the fake decodes bodies as UTF-8, which is lossy for
 * binary uploads) and answers `{"ok":true,"sha256":…,"length":…}`.
 */
export async function startEchoUpstream(): Promise<{
  url: string;
  requests: EchoedRequest[];
  close(): Promise<void>;
}> {
  const requests: EchoedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const payload = JSON.stringify({ ok: true, sha256: sha256(body), length: body.length });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  return { ...(await listenLocal(server)), requests };
}

/** Listens on a free port of 127.0.0.1: the base URL, and a close that also drops kept-alive connections. */
export async function listenLocal(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A base URL on which nothing listens (connections are refused). */
export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Counts of each value in a list. */
export function countBy<T>(items: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

/**
 * Writes `head` (a request line and headers, `\r\n`-separated, without the blank line) and `body` on a fresh TCP
 * connection, exactly as given — for request targets an HTTP client would normalise or refuse to send.
 */
export function sendRaw(url: string, head: string, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const length = Buffer.byteLength(body);
    // Not end(): a half-closed connection reads as a client that went away. `connection: close` ends it.
    socket.write(`${head}\r\nconnection: close\r\ncontent-length: ${length}\r\n\r\n${body}`);
  });
}
