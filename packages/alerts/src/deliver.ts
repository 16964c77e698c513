import type { AlertPayload } from '@keyway/contracts';
import { redactSecrets } from '@keyway/core';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { alertFormatters } from './platforms';
import type { AlertTarget } from './types';

/** How one delivery behaves; the defaults suit chat platforms (seconds to answer, rate limits per minute). */
export interface DeliveryOptions {
  /** Per attempt: connect, headers and body (default 10 s). */
  timeoutMs?: number;
  /** Attempts in all (default 3). */
  attempts?: number;
  /** Wait before the second attempt; doubles after each (default 1 s). */
  backoffMs?: number;
  /** Where requests go (default undici's global dispatcher). */
  dispatcher?: Dispatcher;
  /** Clock for signatures (default `Date.now`). */
  now?: () => number;
}

/** What a delivery came to: the last attempt's status and a scrubbed error (never the URL or the secret). */
export interface DeliveryResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  attempts: number;
}

/** At most this much of an answer is read (platform error codes); the rest is discarded. */
const MAX_ANSWER_BYTES = 8 * 1024;

/** The channel's URL as shown: scheme and host only (chat webhook URLs carry their token in the path or query). */
export function maskAlertUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '…';
  }
}

/**
 * A channel's secrets: the URL, every part of it that could be a token (path segments, query values, user info)
 * and the signing secret. Masked out of any text a platform sends back; register them with the process's secret
 * registry so no log line or response shows them either.
 */
export function alertChannelSecrets(url: string, secret: string | null): string[] {
  const parts: string[] = [];
  try {
    const u = new URL(url);
    parts.push(...u.pathname.split('/'), ...u.searchParams.values(), u.username, u.password);
  } catch {
    // An unparsable URL was refused when the channel was saved; nothing more to mask.
  }
  // Short parts (`send`, `hook`, `v2`) are words, not tokens; masking them would garble every text.
  const tokens = parts.filter((p) => p.length >= 12 || (p.length >= 6 && /\d/.test(p) && /[a-z]/i.test(p)));
  return [...new Set([url, ...(secret ? [secret] : []), ...tokens])];
}

/** A transport failure in words that name no URL: undici's messages may quote it, so only the code is used. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: unknown; code?: unknown };
  const timedOut =
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT';
  if (timedOut) return `timed out after ${Math.round(timeoutMs / 100) / 10} s`;
  if (typeof e?.code === 'string' && /^[A-Z0-9_]+$/.test(e.code)) return `request failed (${e.code})`;
  return 'request failed';
}

/** Reads at most MAX_ANSWER_BYTES of a body and discards the rest. */
async function boundedText(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  retry: boolean;
}

async function attempt(
  target: AlertTarget,
  payload: AlertPayload,
  o: Required<Omit<DeliveryOptions, 'dispatcher'>> & Pick<DeliveryOptions, 'dispatcher'>,
): Promise<AttemptOutcome> {
  const formatter = alertFormatters[target.type];
  const req = formatter.request(target, payload, o.now());
  try {
    // undici's `request` follows no redirect: a 3xx (possibly to another host) is a failure, never re-sent.
    const res = await request(req.url, {
      method: 'POST',
      headers: { 'user-agent': 'Keyway-Alerts', ...req.headers },
      body: req.body,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      signal: AbortSignal.timeout(o.timeoutMs),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    const text = await boundedText(res.body).catch(() => '');
    const rejected = formatter.rejection(res.statusCode, text);
    if (rejected === null) return { statusCode: res.statusCode, error: null, retry: false };
    const redirected = res.statusCode >= 300 && res.statusCode < 400;
    return {
      statusCode: res.statusCode,
      error: redirected ? `HTTP ${res.statusCode}: redirects are not followed` : rejected,
      retry: res.statusCode === 429 || res.statusCode >= 500,
    };
  } catch (err) {
    return { statusCode: null, error: describeFailure(err, o.timeoutMs), retry: true };
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Posts one alert to one channel in its platform's format, retrying transport failures, 429 and 5xx with
 * exponential backoff (a bounded loop). Never throws; the error it reports never holds the URL or the secret.
 */
export async function deliverAlert(
  target: AlertTarget,
  payload: AlertPayload,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const o = {
    timeoutMs: options.timeoutMs ?? 10_000,
    attempts: Math.max(1, options.attempts ?? 3),
    backoffMs: options.backoffMs ?? 1000,
    now: options.now ?? Date.now,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  };
  let last: AttemptOutcome = { statusCode: null, error: 'not sent', retry: false };
  let n = 0;
  while (n < o.attempts) {
    if (n > 0) await sleep(o.backoffMs * 2 ** (n - 1));
    n++;
    last = await attempt(target, payload, o);
    if (last.error === null || !last.retry) break;
  }
  const error =
    last.error === null
      ? null
      : redactSecrets(last.error, alertChannelSecrets(target.url, target.secret)).slice(0, 300);
  return { delivered: last.error === null, statusCode: last.statusCode, error, attempts: n };
}
