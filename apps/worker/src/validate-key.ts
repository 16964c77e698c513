import { effectiveProxies, proxyForKey } from '@keyway/contracts';
import type { FailureClass } from '@keyway/contracts';
import { classifyOutcome, EGRESS_REFUSED_CODE } from '@keyway/core';
import type { Outcome } from '@keyway/core';
import { secretsOf } from '@keyway/observability';
import { PROXY_FAILED_CODE } from '@keyway/server';
import { providerFor } from '@keyway/providers';
import type { HeaderMap } from '@keyway/providers';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { WorkerDeps } from './deps';
import { proxiedValidationDispatcher, validationDispatcher } from './egress-dispatcher';
import type { ValidationGroup } from './groups';
import { applyHeaderRules } from '@keyway/core';
import { resolveValidationSettings } from './settings';

/** The outcome of one key validation. */
export interface KeyValidationResult {
  /** The upstream answered 2xx. */
  valid: boolean;
  /** HTTP status, or 0 when no upstream answered. */
  statusCode: number;
  durationMs: number;
  /** Why it is not valid, with the key redacted; null when valid. */
  error: string | null;
  /** The classifier's verdict (`ok` when valid). */
  class: FailureClass;
  /** The model a quota or rate error was scoped to (the test model's own quota), when the provider said so. */
  model?: string;
}

/** Options of {@link validateKey}. */
export interface ValidateKeyOptions {
  /** Deadline of one request; default: the group's effective `keyValidationTimeoutSeconds`. */
  timeoutMs?: number;
  /**
   * The key's id: picks the proxy of the group's `proxyPool` it is pinned to, as the gateway does. Without it a
   * pooled group's validation leaves through the pool's choice for no key in particular.
   */
  keyId?: number;
}

/** How long the egress settings read for validation are reused (a bulk validation reads them once). */
const EGRESS_SETTING_TTL_MS = 2_000;
const egressSetting = new WeakMap<object, { at: number; value: Promise<EgressSettings> }>();

interface EgressSettings {
  blockPrivate: boolean;
  /** The global `proxyUrl` (null: direct). */
  proxyUrl: string | null;
}

async function egressSettings(deps: Pick<WorkerDeps, 'loadSettings'>): Promise<EgressSettings> {
  const now = Date.now();
  let memo = egressSetting.get(deps.loadSettings);
  if (!memo || now - memo.at >= EGRESS_SETTING_TTL_MS) {
    const value = deps
      .loadSettings()
      .then((s) => ({ blockPrivate: s.egressBlockPrivate === true, proxyUrl: s.proxyUrl ?? null }));
    memo = { at: now, value };
    egressSetting.set(deps.loadSettings, memo);
  }
  return memo.value;
}

/**
 * The validation client towards one upstream origin: through the key's egress proxy when it has one (the one the
 * gateway pins it to), else the injected client, else one applying the egress policy with the current setting.
 */
function dispatcherFor(
  deps: Pick<WorkerDeps, 'dispatcher' | 'selfPort'>,
  egress: EgressSettings,
  origin: string,
  proxy: string | null,
): Dispatcher {
  const policy = { blockPrivate: egress.blockPrivate, ...(deps.selfPort ? { selfPort: deps.selfPort } : {}) };
  if (proxy !== null) return proxiedValidationDispatcher(origin, proxy, policy);
  return deps.dispatcher ?? validationDispatcher(policy);
}

/**
 * The proxy of `proxies` the key leaves through, as the gateway picks it: its pinned one, else (penalised by a
 * gateway) its next-best; null for direct. Unreadable penalties leave the pinned one.
 */
async function keyProxy(
  deps: Partial<Pick<WorkerDeps, 'proxyPenalties'>>,
  proxies: readonly string[],
  keyId: number,
): Promise<string | null> {
  if (proxies.length <= 1 || !deps.proxyPenalties) return proxyForKey(proxies, keyId);
  const penalties = await deps.proxyPenalties(proxies).catch(() => new Map<string, unknown>());
  return proxyForKey(proxies, keyId, (url) => penalties.has(url));
}

/** Header-rule `${CLIENT_IP}` of validation requests: there is no client, the worker itself asks. */
export const VALIDATION_CLIENT_IP = '127.0.0.1';

const ERROR_BODY_LIMIT = 16 * 1024;
const ERROR_TEXT_LIMIT = 500;

/** Connect-phase failures: the request never reached this upstream, so another one may answer. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  // Refused by the egress policy before connecting: the upstream's configuration, not the key, is at fault.
  EGRESS_REFUSED_CODE,
]);

/**
 * Whether a failed validation is the key's fault (revoked, unauthorised, out of quota) rather than the
 * upstream's or the group's (5xx, timeout, rate limit, a wrong test model): only then may an active key be
 * marked invalid.
 */
export function blamesKey(result: KeyValidationResult): boolean {
  // A quota of the test model alone (a Gemini free-tier daily quota per model) says nothing of the key's others.
  if (result.model !== undefined) return false;
  return !result.valid && (result.class === 'auth' || result.class === 'quota');
}

/**
 * Sends the provider's validation request for `keyValue` (group header rules applied) to the group's first
 * upstream with weight > 0, moving to the next one on a connection error; 2xx means valid. It leaves through the
 * key's egress proxy (group `proxyPool` pinning, else the effective `proxyUrl`), so the provider sees one address
 * per key; a proxy that fails is class `proxy`, never the key's fault.
 */
export async function validateKey(
  deps: Pick<WorkerDeps, 'loadSettings' | 'dispatcher' | 'now'> &
    Partial<Pick<WorkerDeps, 'logger' | 'selfPort' | 'proxyPenalties'>>,
  group: ValidationGroup,
  keyValue: string,
  options: ValidateKeyOptions = {},
): Promise<KeyValidationResult> {
  const timeoutMs =
    options.timeoutMs ??
    resolveValidationSettings(await deps.loadSettings(), group.config).keyValidationTimeoutSeconds * 1000;
  const provider = providerFor(group.channel);
  const req = provider.validationRequest(group, keyValue);
  const headers: HeaderMap = { ...req.headers };
  if (group.headerRules.length > 0)
    applyHeaderRules(headers, group.headerRules, {
      clientIp: VALIDATION_CLIENT_IP,
      groupName: group.name,
      apiKey: keyValue,
      now: (deps.now ?? Date.now)(),
    });
  const sendHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) sendHeaders[k] = v;
  // An upstream may echo anything it was sent, and more: the key, and every secret the process knows.
  const secrets = secretsOf(deps.logger);
  const redact = (text: string) => clip(secrets.maskText(text, [keyValue]));

  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const upstreams = group.upstreams.filter((u) => u.weight > 0);
  if (upstreams.length === 0)
    return {
      valid: false,
      statusCode: 0,
      durationMs: 0,
      error: 'no upstream with weight > 0',
      class: 'upstream',
    };

  const egress = await egressSettings(deps);
  // A group override of null means direct (as the gateway reads it); only an absent one inherits the global.
  const own = group.config.proxyUrl;
  const proxies = effectiveProxies(group.proxyPool, own === undefined ? egress.proxyUrl : own);
  const proxy = await keyProxy(deps, proxies, options.keyId ?? 0);
  let lastConnectError = '';
  for (const upstream of upstreams) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await request(targetUrl(upstream.url, req.path, req.query), {
        method: req.method,
        headers: sendHeaders,
        body: req.body,
        signal: abort.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        dispatcher: dispatcherFor(deps, egress, upstreamOrigin(upstream.url), proxy),
      });
      const outcome: Outcome = {
        status: response.statusCode,
        headers: response.headers,
        model: group.testModel || null,
      };
      if (response.statusCode >= 200 && response.statusCode < 300) {
        await response.body.dump();
        return {
          valid: true,
          statusCode: response.statusCode,
          durationMs: elapsed(),
          error: null,
          class: 'ok',
        };
      }
      outcome.body = await readSmall(response);
      const c = classifyOutcome(outcome, provider.classifierRules);
      const detail = errorMessage(outcome.body);
      return {
        valid: false,
        statusCode: response.statusCode,
        durationMs: elapsed(),
        error: redact(detail ? `${c.reason}: ${detail}` : c.reason),
        // A 2xx-less answer the classifier calls ok (a 3xx) still is no proof that the key works.
        class: c.class === 'ok' ? 'client' : c.class,
        ...(c.model === undefined ? {} : { model: c.model }),
      };
    } catch (error) {
      if (abort.signal.aborted)
        return {
          valid: false,
          statusCode: 0,
          durationMs: elapsed(),
          error: `timeout after ${timeoutMs} ms`,
          class: 'upstream',
        };
      const code = errorCode(error);
      // The proxy failed (its message names it masked): no upstream was asked, so nothing is said of the key.
      if (code === PROXY_FAILED_CODE)
        return {
          valid: false,
          statusCode: 0,
          durationMs: elapsed(),
          error: redact(errorText(error)),
          class: 'proxy',
        };
      if (code && CONNECT_ERRORS.has(code)) {
        lastConnectError = redact(`${upstreamOrigin(upstream.url)}: ${errorText(error)}`);
        continue;
      }
      const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      return {
        valid: false,
        statusCode: 0,
        durationMs: elapsed(),
        error: timeout ? `timeout after ${timeoutMs} ms` : redact(errorText(error)),
        class: 'upstream',
      };
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    valid: false,
    statusCode: 0,
    durationMs: elapsed(),
    error: `connect failed: ${lastConnectError}`,
    class: 'upstream',
  };
}

/** The request URL: the upstream's base path (as the gateway keeps it) followed by the provider's path. */
function targetUrl(base: string, path: string, query: string): string {
  const u = new URL(base);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}${path}${query ? `?${query}` : ''}`;
}

function upstreamOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'upstream';
  }
}

async function readSmall(response: Dispatcher.ResponseData): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // A cut error body still classifies by status.
  } finally {
    response.body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, ERROR_BODY_LIMIT));
}

/** The provider's own error message when the body is a JSON error envelope, else the body text. */
function errorMessage(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const parsed: unknown = JSON.parse(text);
    const candidates = [pick(parsed, 'error', 'message'), pick(parsed, 'message'), pick(parsed, 'error')];
    const first = Array.isArray(parsed) ? pick(parsed[0], 'error', 'message') : undefined;
    for (const c of [...candidates, first]) if (typeof c === 'string' && c.trim() !== '') return c.trim();
  } catch {
    // Not JSON: the text itself.
  }
  return text.replace(/\s+/g, ' ');
}

function pick(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function clip(text: string): string {
  return text.length > ERROR_TEXT_LIMIT ? `${text.slice(0, ERROR_TEXT_LIMIT - 1)}…` : text;
}

function errorCode(error: unknown): string | undefined {
  const own = (error as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return 'transport error';
  const code = errorCode(error);
  return `${code ? `${code} ` : ''}${error.message}`;
}
