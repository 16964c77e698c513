import { isObject, parseJson } from './common';
import type { GeminiPart } from './gemini-common';

/**
 * Response-side pieces both Gemini translators share: a `GenerateContentResponse` (a whole JSON reply or one
 * streamed chunk) read into what the caller's dialects need, finish reasons, usage and error bodies.
 */

/** Why the candidate ended, in the terms both caller dialects have. */
export type FinishClass = 'stop' | 'length' | 'tool' | 'filter';

/** Token counts of `usageMetadata` (each stream chunk repeats the running totals). */
export interface GeminiUsage {
  /** `promptTokenCount`: includes the cached tokens. */
  prompt: number;
  /** `candidatesTokenCount` + `thoughtsTokenCount`: thinking is billed as output. */
  output: number;
  /** `cachedContentTokenCount`. */
  cached: number;
  /** `thoughtsTokenCount`. */
  reasoning: number;
}

/** One read reply or chunk: the first candidate's parts and end, the prompt's block, usage. */
export interface GeminiReply {
  parts: GeminiPart[];
  /** The candidate's `finishReason` (present on the last chunk of a stream). */
  finishReason?: string;
  /** `promptFeedback.blockReason`: the prompt was refused, there is no candidate. */
  blockReason?: string;
  usage?: GeminiUsage;
  responseId?: string;
  /** An in-stream `{error}` object's message (a stream that failed after it started). */
  error?: { code: number; message: string; status?: string };
}

const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'LANGUAGE',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/**
 * A Gemini end as a caller's reason: STOP → stop, MAX_TOKENS → length, the safety/recitation/blocklist family →
 * filtered, and any end with a function call → tool (Gemini says STOP there). Other ends (OTHER,
 * MALFORMED_FUNCTION_CALL, …) have no counterpart in either dialect and read as a plain stop.
 */
export function finishClass(reason: string | undefined, hasCall: boolean): FinishClass {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason !== undefined && FILTERED.has(reason)) return 'filter';
  return hasCall ? 'tool' : 'stop';
}

function count(meta: Record<string, unknown>, key: string): number {
  const v = meta[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function readUsage(meta: unknown): GeminiUsage | undefined {
  if (!isObject(meta)) return undefined;
  const reasoning = count(meta, 'thoughtsTokenCount');
  return {
    prompt: count(meta, 'promptTokenCount'),
    output: count(meta, 'candidatesTokenCount') + reasoning,
    cached: count(meta, 'cachedContentTokenCount'),
    reasoning,
  };
}

function readPart(p: unknown): GeminiPart | undefined {
  if (!isObject(p)) return undefined;
  const part: GeminiPart = {};
  if (typeof p.text === 'string') part.text = p.text;
  if (p.thought === true) part.thought = true;
  if (typeof p.thoughtSignature === 'string') part.thoughtSignature = p.thoughtSignature;
  const call = p.functionCall;
  if (isObject(call) && typeof call.name === 'string') {
    part.functionCall = { name: call.name, args: isObject(call.args) ? call.args : {} };
    if (typeof call.id === 'string') part.functionCall.id = call.id;
  }
  return part;
}

function readError(e: unknown): GeminiReply['error'] {
  if (!isObject(e)) return undefined;
  const out: NonNullable<GeminiReply['error']> = {
    code: typeof e.code === 'number' ? e.code : 500,
    message: typeof e.message === 'string' ? e.message : JSON.stringify(e),
  };
  if (typeof e.status === 'string') out.status = e.status;
  return out;
}

/** A `GenerateContentResponse` (JSON reply or stream chunk) as a {@link GeminiReply}. */
export function readReply(body: unknown): GeminiReply {
  const reply: GeminiReply = { parts: [] };
  if (!isObject(body)) return reply;
  const cand: unknown = Array.isArray(body.candidates) ? body.candidates[0] : undefined;
  if (isObject(cand)) {
    const parts = isObject(cand.content) ? cand.content.parts : undefined;
    if (Array.isArray(parts))
      for (const p of parts) {
        const part = readPart(p);
        if (part) reply.parts.push(part);
      }
    if (typeof cand.finishReason === 'string') reply.finishReason = cand.finishReason;
  }
  const feedback = body.promptFeedback;
  if (isObject(feedback) && typeof feedback.blockReason === 'string')
    reply.blockReason = feedback.blockReason;
  const usage = readUsage(body.usageMetadata);
  if (usage) reply.usage = usage;
  if (typeof body.responseId === 'string') reply.responseId = body.responseId;
  const error = readError(body.error);
  if (error) reply.error = error;
  return reply;
}

/** The text a caller sees when Gemini blocked the prompt itself. */
export function blockedMessage(reason: string): string {
  return `The prompt was blocked by the upstream's safety filters (blockReason ${reason}).`;
}

/** An upstream error body: Gemini's `{error:{code,message,status}}`, else the raw text as the message. */
export function readGeminiError(body: string): { message: string; status: string } {
  const v = parseJson(body);
  const e = isObject(v) ? readError(v.error) : undefined;
  if (e) return { message: e.message, status: e.status ?? '' };
  return { message: body.trim() || 'upstream error', status: '' };
}

/** Whether the read reply ends the stream (Gemini has no terminal event: the chunk with a finish or block). */
export function isLast(reply: GeminiReply): boolean {
  return reply.finishReason !== undefined || reply.blockReason !== undefined;
}
