/**
 * What counts as content in each dialect's replies (issue 14, `retryOnEmpty`). Anything the client can use counts:
 * text, tool calls, refusals, audio, images, reasoning. A reply cut short by the client's own token limit counts
 * too: another key would spend the same tokens on the same nothing.
 */

/** One dialect's view of a reply: the whole JSON body, and one event (or streamed chunk) at a time. */
export interface ReplyRules {
  /** Whether a complete JSON reply carries no content. */
  isEmpty(body: unknown): boolean;
  /** `content` for an event that carries some, `end` for the dialect's last event, null for any other. */
  event(name: string, data: unknown): 'content' | 'end' | null;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function text(v: unknown): boolean {
  return typeof v === 'string' && v !== '';
}

/**
 * An OpenAI chat choice (its `message`, or a stream chunk's `delta`) or legacy completion choice (`text`) with
 * something in it. Reasoning fields are what OpenAI-compatible reasoning models (DeepSeek, vLLM) stream first.
 */
function chatChoiceHasContent(choice: unknown): boolean {
  const c = obj(choice);
  if (!c) return false;
  if (c.finish_reason === 'length' || text(c.text)) return true;
  const m = obj(c.message) ?? obj(c.delta);
  if (!m) return false;
  return (
    text(m.content) ||
    (Array.isArray(m.content) && m.content.length > 0) ||
    list(m.tool_calls).length > 0 ||
    obj(m.function_call) !== null ||
    text(m.refusal) ||
    obj(m.audio) !== null ||
    text(m.reasoning_content) ||
    text(m.reasoning)
  );
}

/** OpenAI chat completions (and legacy completions): no choice with content is empty. */
export const openAiChat: ReplyRules = {
  isEmpty: (body) => !list(obj(body)?.choices).some(chatChoiceHasContent),
  event: (_name, data) => (list(obj(data)?.choices).some(chatChoiceHasContent) ? 'content' : null),
};

/** A Responses output item with content: message text or refusal, a non-empty reasoning item, any tool call. */
function responseItemHasContent(item: unknown): boolean {
  const i = obj(item);
  if (!i) return false;
  if (i.type === 'message')
    return list(i.content).some((part) => {
      const p = obj(part);
      if (!p) return false;
      // Text and refusal parts count when they say something; any other part (audio …) is content itself.
      if (p.type === 'output_text' || p.type === 'refusal') return text(p.text) || text(p.refusal);
      return typeof p.type === 'string';
    });
  if (i.type === 'reasoning')
    return [...list(i.summary), ...list(i.content)].some((part) => text(obj(part)?.text));
  // Function, custom tool, web search, image generation, computer, MCP … calls are the reply.
  return typeof i.type === 'string';
}

function responseHasContent(response: unknown): boolean {
  const r = obj(response);
  return (
    r !== null &&
    (list(r.output).some(responseItemHasContent) || obj(r.incomplete_details)?.reason === 'max_output_tokens')
  );
}

/** Stream events that end a Responses stream. */
const RESPONSE_ENDS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** OpenAI Responses: no output item with content is empty. */
export const openAiResponses: ReplyRules = {
  isEmpty: (body) => !responseHasContent(body),
  event(name, data) {
    const e = obj(data);
    const type = typeof e?.type === 'string' ? e.type : name;
    if (type.endsWith('.delta') && text(e?.delta)) return 'content';
    if (type === 'response.output_item.added' || type === 'response.output_item.done')
      return responseItemHasContent(e?.item) ? 'content' : null;
    if (RESPONSE_ENDS.has(type)) return responseHasContent(e?.response) ? 'content' : 'end';
    return null;
  },
};

/** An Anthropic content block with something in it (an empty text or thinking block has nothing). */
function blockHasContent(block: unknown): boolean {
  const b = obj(block);
  if (!b) return false;
  if (b.type === 'text') return text(b.text);
  if (b.type === 'thinking') return text(b.thinking);
  return typeof b.type === 'string';
}

/** Anthropic Messages: a reply with no content block is empty. */
export const anthropicMessages: ReplyRules = {
  isEmpty(body) {
    const b = obj(body);
    return !list(b?.content).some(blockHasContent) && b?.stop_reason !== 'max_tokens';
  },
  event(name, data) {
    const e = obj(data);
    const type = typeof e?.type === 'string' ? e.type : name;
    if (type === 'content_block_start') return blockHasContent(e?.content_block) ? 'content' : null;
    if (type === 'content_block_delta') {
      const d = obj(e?.delta);
      return d && (text(d.text) || text(d.partial_json) || text(d.thinking)) ? 'content' : null;
    }
    if (type === 'message_delta') return obj(e?.delta)?.stop_reason === 'max_tokens' ? 'content' : null;
    return type === 'message_stop' ? 'end' : null;
  },
};

/**
 * A Gemini candidate with a part that carries something (text, a function call, inline data, code …), or one the
 * client's `maxOutputTokens` cut short. A candidate without parts is empty whatever its finish reason: blocked
 * (SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, OTHER …) or the empty `STOP` Gemini is known to send.
 */
function candidateHasContent(candidate: unknown): boolean {
  const c = obj(candidate);
  if (!c) return false;
  if (c.finishReason === 'MAX_TOKENS') return true;
  return list(obj(c.content)?.parts).some((part) => {
    const p = obj(part);
    if (!p) return false;
    return (
      text(p.text) || Object.keys(p).some((k) => k !== 'text' && k !== 'thought' && k !== 'thoughtSignature')
    );
  });
}

/** Gemini generateContent: no candidate with content (a blocked prompt has none at all) is empty. */
export const geminiGenerate: ReplyRules = {
  isEmpty: (body) => !list(obj(body)?.candidates).some(candidateHasContent),
  event: (_name, data) => (list(obj(data)?.candidates).some(candidateHasContent) ? 'content' : null),
};
