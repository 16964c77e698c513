import type { RequestLogRecord, TranslateDialect } from '@keyway/contracts';
import { MAX_JSON_DEPTH, jsonNestingExceeds } from '@keyway/core';
import { TranslationError, providerFor, translatorForRequest } from '@keyway/providers';
import type { NativeRequest, Translator } from '@keyway/providers';
import type { ServerResponse } from 'node:http';
import type { ForwardContext, ForwardDeps } from './context';
import { recordRefusal } from './request-record';
import { sendDialectError, tagDialect } from './respond';
import type { GroupRuntime } from './runtime';

/**
 * Format translation in the request path (API.md "Format translation"): which translator serves a request, the
 * caller's body turned into each translated channel's native request at entry, and the switch between them per
 * candidate. What a translation does is the translators' business (`@keyway/providers`); the gateway only picks one
 * and runs it.
 */

/** One translated channel's native request, made once at entry, and the translator that made it. */
export interface NativeAttempt {
  translator: Translator;
  request: NativeRequest;
  body: Buffer;
}

/** A request whose caller speaks another dialect than (some of) the groups that may serve it. */
export interface Translation {
  readonly from: TranslateDialect;
  /** The caller's own request: what a candidate of the caller's own channel is sent (key-routed requests). */
  readonly caller: { path: string; query: string; body: Buffer | null };
  /** The native request of every translated channel among the candidates, by channel. */
  readonly natives: ReadonlyMap<string, NativeAttempt>;
  /** The native request of the candidate being tried (null: that candidate speaks the caller's dialect). */
  active: NativeAttempt | null;
}

/** Why a translated request cannot be sent: answered 400 in the caller's dialect, before any upstream call. */
export interface TranslationRefusal {
  status: 400;
  code: string;
  message: string;
}

/**
 * The translator serving `method path` on `group`, or null (the request is native). Call only for a group with
 * `translate` set: the hot path checks that field first and pays nothing more.
 */
export function translatorOf(group: GroupRuntime, method: string, path: string): Translator | null {
  return group.translate ? translatorForRequest(group.translate, group.provider.id, method, path) : null;
}

/** Gateway-made errors of this response answer in the caller's dialect from now on (auth, limits, no key …). */
export function speakCallerDialect(res: ServerResponse, from: TranslateDialect): void {
  tagDialect(res, providerFor(from));
}

/**
 * A `/proxy/{group}` request in a dialect the group translates: its body becomes the group's native request (path,
 * query, body), and everything after runs as for a native request. False when it cannot be converted (answered 400
 * in the caller's dialect, naming the field, and logged; nothing was sent upstream).
 */
export function enterTranslated(ctx: ForwardContext, deps: ForwardDeps, translator: Translator): boolean {
  const r = translateRequest(ctx, translator.from, [translator]);
  const failed = 'status' in r ? r : r.failed.get(translator.to);
  if (failed) {
    refuse(ctx, deps, translator.from, failed instanceof TranslationError ? refusal(failed) : failed);
    return false;
  }
  ctx.translation = (r as { translation: Translation }).translation;
  useCandidate(ctx, ctx.group);
  return true;
}

/**
 * Key-routed requests: translates the caller's body for every candidate of another channel that accepts the
 * caller's dialect, and keeps the candidates that can serve it (a channel whose translator refuses the request
 * drops out). The candidates as they were when none is translated; null when none is left (answered 400 in the
 * caller's dialect, naming the field, and logged).
 */
export function translateCandidates(
  ctx: ForwardContext,
  deps: ForwardDeps,
  candidates: readonly GroupRuntime[],
  method: string,
): readonly GroupRuntime[] | null {
  const translators: Translator[] = [];
  for (const g of candidates) {
    const t = g.translate ? translatorOf(g, method, ctx.path) : null;
    if (t) translators.push(t);
  }
  const from = translators[0]?.from;
  if (from === undefined) return candidates;
  speakCallerDialect(ctx.res, from);
  const r = translateRequest(ctx, from, translators);
  if ('status' in r) {
    refuse(ctx, deps, from, r);
    return null;
  }
  const kept = candidates.filter((g) => !r.failed.has(g.provider.id));
  const first = r.failed.values().next().value;
  if (kept.length === 0 && first) {
    refuse(ctx, deps, from, refusal(first));
    return null;
  }
  ctx.translation = r.translation;
  return kept;
}

/** Answers a request that cannot be translated (in the caller's dialect) and logs it. */
export function refuse(
  ctx: ForwardContext,
  deps: ForwardDeps,
  from: TranslateDialect,
  r: TranslationRefusal,
): void {
  sendDialectError(ctx.res, providerFor(from), r.status, r.code, r.message);
  recordRefusal(ctx, deps, r.status, r.message);
}

/**
 * Turns the caller's body (read within the body limit) into the native request of each translator's channel. The
 * body is parsed once, refused past {@link MAX_JSON_DEPTH} levels (deep nesting would overflow whatever walks it
 * next). A channel whose translator cannot convert the request is in `failed` with the reason (it cannot serve the
 * request; with no other candidate, {@link refusal} answers it).
 */
export function translateRequest(
  ctx: Pick<ForwardContext, 'path' | 'query' | 'body'>,
  from: TranslateDialect,
  translators: readonly Translator[],
): { translation: Translation; failed: ReadonlyMap<string, TranslationError> } | TranslationRefusal {
  const parsed = parseBody(ctx.body);
  if ('status' in parsed) return parsed;
  const natives = new Map<string, NativeAttempt>();
  const failed = new Map<string, TranslationError>();
  for (const translator of translators) {
    if (natives.has(translator.to) || failed.has(translator.to)) continue;
    try {
      const request = translator.request({ path: ctx.path, query: ctx.query, body: parsed.body });
      natives.set(translator.to, { translator, request, body: Buffer.from(request.body) });
    } catch (error) {
      if (!(error instanceof TranslationError)) throw error;
      failed.set(translator.to, error);
    }
  }
  return {
    translation: {
      from,
      caller: { path: ctx.path, query: ctx.query, body: ctx.body },
      natives,
      active: null,
    },
    failed,
  };
}

/** The refusal of a request no translator could convert. */
export function refusal(error: TranslationError): TranslationRefusal {
  return {
    status: 400,
    code: 'UNTRANSLATABLE_REQUEST',
    message: `Field '${error.field}' cannot be translated: ${error.message}`,
  };
}

/**
 * Points the request at `group`'s version of it: its channel's native request (and translator), or the caller's
 * own when the group speaks the caller's dialect. Called before each candidate's first attempt; the record says
 * whether the request that served was translated.
 */
export function useCandidate(
  ctx: ForwardContext,
  group: GroupRuntime,
  record?: Pick<RequestLogRecord, 'translatedFrom'>,
): void {
  const t = ctx.translation;
  if (!t) return;
  const native = t.natives.get(group.provider.id);
  if (native) {
    ctx.path = native.request.path;
    ctx.query = native.request.query;
    ctx.body = native.body;
    t.active = native;
  } else {
    ctx.path = t.caller.path;
    ctx.query = t.caller.query;
    ctx.body = t.caller.body;
    t.active = null;
  }
  if (record) record.translatedFrom = t.active ? t.from : null;
}

function parseBody(body: Buffer | null): { body: unknown } | TranslationRefusal {
  const text = body ? body.toString('utf8') : '';
  if (text.trim() === '') return invalid('Request body is empty; a JSON object is required');
  if (jsonNestingExceeds(text))
    return invalid(`Request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return invalid('Request body is not valid JSON');
  }
}

function invalid(message: string): TranslationRefusal {
  return { status: 400, code: 'INVALID_REQUEST', message };
}
