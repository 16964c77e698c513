import type { Channel } from '@keyway/contracts';
import type { ReplyRules } from './empty-reply-rules';
import { anthropicMessages, geminiGenerate, openAiChat, openAiResponses } from './empty-reply-rules';

/**
 * Whether a successful reply carries content (issue 14, `retryOnEmpty`): a reply with no choices, candidates or
 * content blocks is worth another key, one with content goes to the client. Read as text while the gateway holds
 * the bytes back, so a stream is judged by its first events and a JSON reply once it ended.
 */

/** What a reply read so far says: content seen, ended without content, or not known yet (null). */
export type ReplyVerdict = 'content' | 'empty';

/** How the reply is framed: SSE events, a streamed JSON array of chunks (Gemini without `alt=sse`), one JSON value. */
export type ReplyFraming = 'sse' | 'json-array' | 'json';

/** An incremental reader of one reply's decoded text. */
export interface ContentWatch {
  /** Feeds the next piece of text; a verdict as soon as one is known (then stop feeding). */
  push(text: string): ReplyVerdict | null;
  /** The body ended: the verdict on everything fed. */
  end(): ReplyVerdict;
}

/** The empty-reply check of one endpoint. */
export interface EmptyReplyCheck {
  /** A fresh reader of one reply framed as `framing`. */
  watch(framing: ReplyFraming): ContentWatch;
}

/** Past this much text without a verdict the reply is taken as content: holding it longer costs memory, not safety. */
const MAX_UNDECIDED_CHARS = 8 * 1024 * 1024;

/** The generation endpoints of each channel whose replies can be empty; other paths (model lists, files …) never are. */
const endpoints = {
  openai: openAiEndpoint,
  'openai-response': openAiEndpoint,
  anthropic: (path) => (path.endsWith('/messages') ? anthropicMessages : openAiEndpoint(path)),
  gemini: (path) => (/:(stream)?generateContent$/i.test(path) ? geminiGenerate : openAiEndpoint(path)),
} satisfies Record<Channel, (path: string) => ReplyRules | null>;

/** OpenAI-compatible surfaces (every channel has one): chat and legacy completions, and Responses. */
function openAiEndpoint(path: string): ReplyRules | null {
  if (path.endsWith('/completions')) return openAiChat;
  if (path.endsWith('/responses')) return openAiResponses;
  return null;
}

/**
 * The empty-reply check of a request to `channel`'s upstream at `path` (as sent upstream, without the query), or
 * null when its replies are never checked: not a generation call, or a channel without rules (a test's fake one).
 */
export function emptyReplyCheck(channel: string, method: string, path: string): EmptyReplyCheck | null {
  if (method !== 'POST') return null;
  const of = (endpoints as Record<string, ((path: string) => ReplyRules | null) | undefined>)[channel];
  const rules = of?.(trimPath(path)) ?? null;
  if (!rules) return null;
  return {
    watch: (framing) =>
      framing === 'sse'
        ? new SseWatch(rules)
        : framing === 'json-array'
          ? new JsonArrayWatch(rules)
          : new WholeJsonWatch(rules),
  };
}

/** The path with a trailing slash dropped and `%3A` read as `:` (Gemini's action may come encoded). */
function trimPath(path: string): string {
  const p = path.endsWith('/') ? path.slice(0, -1) : path;
  return p.replace(/%3a/gi, ':');
}

/** A JSON value, or undefined when the text is not JSON. */
function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One JSON value, judged once it ended: blank is empty, text that is not JSON is content (it cannot be judged). */
class WholeJsonWatch implements ContentWatch {
  private text = '';

  constructor(private readonly rules: ReplyRules) {}

  push(text: string): ReplyVerdict | null {
    this.text += text;
    return this.text.length > MAX_UNDECIDED_CHARS ? 'content' : null;
  }

  end(): ReplyVerdict {
    if (this.text.trim() === '') return 'empty';
    const body = parse(this.text);
    if (body === undefined) return 'content';
    return this.rules.isEmpty(body) ? 'empty' : 'content';
  }
}

/**
 * Server-sent events, judged event by event: the first event with content decides `content`; the stream's end
 * (the dialect's last event, or the body's end) before any decides `empty`. Data that is not JSON cannot be judged
 * and counts as content.
 */
class SseWatch implements ContentWatch {
  private pending = '';
  private event = '';
  private data: string[] = [];

  constructor(private readonly rules: ReplyRules) {}

  push(text: string): ReplyVerdict | null {
    const all = this.pending + text;
    let start = 0;
    for (let nl = all.indexOf('\n'); nl >= 0; nl = all.indexOf('\n', start)) {
      const end = nl > start && all.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      const verdict = this.line(all.slice(start, end));
      start = nl + 1;
      if (verdict) return verdict;
    }
    this.pending = all.slice(start);
    return this.pending.length > MAX_UNDECIDED_CHARS ? 'content' : null;
  }

  end(): ReplyVerdict {
    const last = this.pending === '' ? null : this.line(this.pending);
    this.pending = '';
    return last ?? this.dispatch() ?? 'empty';
  }

  private line(line: string): ReplyVerdict | null {
    if (line === '') return this.dispatch();
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return null;
  }

  private dispatch(): ReplyVerdict | null {
    const name = this.event;
    const data = this.data.join('\n');
    const had = this.data.length > 0;
    this.event = '';
    this.data = [];
    if (!had) return null;
    if (data.trim() === '[DONE]') return 'empty';
    const payload = parse(data);
    if (payload === undefined) return 'content';
    const seen = this.rules.event(name, payload);
    return seen === 'end' ? 'empty' : seen;
  }
}

/**
 * A streamed JSON array of chunks (`[{…},\r\n{…}]`), judged chunk by chunk like SSE events; anything that does not
 * open with `[` is judged whole.
 */
class JsonArrayWatch implements ContentWatch {
  private whole: WholeJsonWatch | null = null;
  private opened = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element = '';

  constructor(private readonly rules: ReplyRules) {}

  push(text: string): ReplyVerdict | null {
    let i = 0;
    if (!this.opened && !this.whole) {
      i = text.search(/\S/);
      if (i < 0) return null;
      if (text[i] !== '[') this.whole = new WholeJsonWatch(this.rules);
      else {
        this.opened = true;
        i++;
      }
    }
    if (this.whole) return this.whole.push(text);
    return this.scan(text, i);
  }

  end(): ReplyVerdict {
    return this.whole ? this.whole.end() : 'empty';
  }

  /** Cuts complete top-level elements out of the text; each is judged as it completes. */
  private scan(text: string, from: number): ReplyVerdict | null {
    let start = this.depth > 0 ? from : -1;
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (this.depth++ === 0) start = i;
      } else if ((c === 0x7d || c === 0x5d) && this.depth > 0 && --this.depth === 0) {
        const verdict = this.judge(this.element + text.slice(start, i + 1));
        this.element = '';
        start = -1;
        if (verdict) return verdict;
      }
    }
    if (start >= 0) this.element += text.slice(start);
    return this.element.length > MAX_UNDECIDED_CHARS ? 'content' : null;
  }

  private judge(text: string): ReplyVerdict | null {
    const chunk = parse(text);
    if (chunk === undefined) return 'content';
    const seen = this.rules.event('', chunk);
    return seen === 'end' ? 'empty' : seen;
  }
}
