import { hash } from 'node:crypto';
import { eachJsonArrayElement, field, headerValue, peekJsonString, peekJsonValue } from './json-peek';
import type { HeaderMap } from './provider';

/** What session affinity reads of a request to tell which conversation it continues. */
export interface SessionRequest {
  /** Path after `/proxy/{group}` (or the key-routed root path), without the query. */
  path: string;
  headers: HeaderMap;
  /** The client's own body (before a group's overrides and redirects: those differ between groups). */
  body: Buffer | null;
  /** The proxy or access key the caller presented: only ever hashed, together with the prompt. */
  callerKey: string;
}

/** The request's session id given the group's session header name (lower-case); null when none is found. */
export type SessionLookup = (header: string) => string | null;

/** The request shapes a session can be read from; told by the path, so a translated request reads as sent. */
type Dialect = 'chat' | 'responses' | 'anthropic' | 'gemini';

/** Each part of a prompt is hashed up to this many characters: a long history never costs more than this. */
const PART_LIMIT = 64 * 1024;

/** Characters of the hash kept (base64url, 132 bits): ids stay short in memory and on the wire. */
const ID_LENGTH = 22;

/** Prompt-caching markers clients move from turn to turn (Anthropic `cache_control`): not part of the prompt. */
const VOLATILE_FIELDS = new Set(['cache_control']);

function dialectOf(path: string): Dialect | null {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/responses')) return 'responses';
  if (path.endsWith('/messages')) return 'anthropic';
  if (/(?::|%3a)(?:stream)?generatecontent$/i.test(path)) return 'gemini';
  return null;
}

/**
 * The fields of a body the session reads, each parsed on its own when first asked for; a conversation's turns are
 * parsed one by one up to its first user turn, so a long history is scanned but never parsed. `malformed` once a
 * part read is not JSON: such a body names no session (the request is routed as usual).
 */
class BodyView {
  malformed = false;
  constructor(readonly raw: Buffer | null) {}

  value(name: string): unknown {
    const peeked = peekJsonValue(this.raw, name);
    if (peeked === undefined) return undefined;
    if (!peeked.ok) {
      this.malformed = true;
      return undefined;
    }
    return peeked.value;
  }

  /** Visits the elements of array field `name` until `visit` returns true; false when it is no array. */
  elements(name: string, visit: (value: unknown) => boolean): boolean {
    const found = eachJsonArrayElement(this.raw, name, visit);
    if (found === 'malformed') this.malformed = true;
    return found === 'array';
  }
}

/**
 * Reads a request's session id the way session affinity wants it, first found: OpenAI `prompt_cache_key` (chat
 * completions and Responses), Anthropic `metadata.user_id`, the group's session header, else a fingerprint of
 * (caller key, system prompt, first user message). Lazy and memoised: nothing is parsed until a body field is
 * needed (`prompt_cache_key` is peeked without a parse), and then only that field, or the turns up to the first
 * user message. Every id is a truncated sha256, so neither the caller key nor a client-chosen value (which may
 * name a user) is kept as sent.
 */
export function sessionLookup(req: SessionRequest): SessionLookup {
  const dialect = dialectOf(req.path);
  let fromBody: string | null | undefined;
  let fingerprint: string | null | undefined;
  // The last header asked for and its answer, not a Map per request: groups nearly always share the default
  // header name, and one asked for again after another is only hashed again (the same id).
  let lastHeader: string | undefined;
  let own: string | null = null;
  return (header) => {
    // Null is a memoised answer too (no session named): `??=` would ask again.
    if (fromBody === undefined) fromBody = dialect === null ? null : bodySession(dialect, req.body);
    if (fromBody !== null) return fromBody;
    if (header !== lastHeader) {
      const value = headerValue(req.headers, header)?.trim();
      own = value ? digest('h', [value]) : null;
      lastHeader = header;
    }
    if (own !== null) return own;
    if (fingerprint === undefined)
      fingerprint =
        dialect === null ? null : promptFingerprint(dialect, new BodyView(req.body), req.callerKey);
    return fingerprint;
  };
}

/** The session the client named in the body (`prompt_cache_key`, `metadata.user_id`), hashed; or null. */
function bodySession(dialect: Dialect, raw: Buffer | null): string | null {
  if (dialect === 'chat' || dialect === 'responses') {
    const key = peekJsonString(raw, 'prompt_cache_key');
    return key ? digest('p', [key]) : null;
  }
  if (dialect === 'anthropic') {
    const user = field(new BodyView(raw).value('metadata'), 'user_id');
    return typeof user === 'string' && user !== '' ? digest('u', [user]) : null;
  }
  return null;
}

/** The prompt's first turn as each dialect spells it. */
interface Opening {
  system: unknown[];
  firstUser: unknown;
}

function promptFingerprint(dialect: Dialect, body: BodyView, callerKey: string): string | null {
  const { system, firstUser } = openingOf(dialect, body);
  if (body.malformed || (system.length === 0 && firstUser === undefined)) return null;
  return digest('f', [callerKey, system, firstUser ?? null]);
}

function openingOf(dialect: Dialect, body: BodyView): Opening {
  switch (dialect) {
    case 'chat':
      return leadingTurns(body, 'messages', 'content');
    case 'responses': {
      const instructions = body.value('instructions');
      const turns = leadingTurns(body, 'input', 'content');
      if (turns.system.length === 0 && turns.firstUser === undefined) {
        const input = body.value('input');
        if (typeof input === 'string') turns.firstUser = input;
      }
      return {
        ...turns,
        system: instructions === undefined ? turns.system : [instructions, ...turns.system],
      };
    }
    case 'anthropic': {
      const system = body.value('system');
      const { firstUser } = leadingTurns(body, 'messages', 'content');
      return { system: system === undefined ? [] : [system], firstUser };
    }
    case 'gemini': {
      const system = body.value('systemInstruction') ?? body.value('system_instruction');
      // A single-turn request may leave `role` out: Gemini reads such an entry as the user's.
      const { firstUser } = leadingTurns(body, 'contents', 'parts', true);
      return { system: system === undefined ? [] : [system], firstUser };
    }
  }
}

/**
 * The system/developer turns before the first user turn, and that user turn's `content` (Gemini: `parts`). Later
 * system turns are left out: clients insert them as a conversation goes on, and the opening must stay the same.
 */
function leadingTurns(body: BodyView, name: string, contentField: string, roleless = false): Opening {
  const opening: Opening = { system: [], firstUser: undefined };
  body.elements(name, (turn) => {
    const role = field(turn, 'role');
    if (role === 'user' || (roleless && role === undefined)) {
      opening.firstUser = field(turn, contentField);
      return true;
    }
    if (role === 'system' || role === 'developer') opening.system.push(field(turn, contentField));
    return false;
  });
  return opening;
}

/**
 * sha256 of a source tag and `parts`, each fed up to {@link PART_LIMIT} characters, truncated. One string hashed
 * in one call: a streaming hash object cost several times more per request than the hashing itself.
 */
function digest(tag: string, parts: readonly unknown[]): string {
  let text = tag;
  for (const part of parts) text = feed(`${text}\u0001`, part);
  return hash('sha256', text, 'base64url').slice(0, ID_LENGTH);
}

/**
 * Appends the strings of `value` (a string, or text and data fields of content parts, depth first) to `text`,
 * each ended by NUL, up to {@link PART_LIMIT} characters; every value visited also counts, so a huge array of
 * tiny parts stays bounded.
 */
function feed(text: string, value: unknown): string {
  // A string part (the caller key, most prompts) needs no stack: the same bytes, without an array per part.
  if (typeof value === 'string')
    return `${text}${value.length > PART_LIMIT - 1 ? value.slice(0, PART_LIMIT - 1) : value}\u0000`;
  let out = text;
  let budget = PART_LIMIT;
  const stack: unknown[] = [value];
  while (stack.length > 0 && budget > 0) {
    const v = stack.pop();
    budget--;
    if (typeof v === 'string') {
      const s = v.length > budget ? v.slice(0, budget) : v;
      out = `${out}${s}\u0000`;
      budget -= s.length;
    } else if (Array.isArray(v)) {
      for (let i = Math.min(v.length, budget) - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [name, inner] = entries[i] as [string, unknown];
        if (!VOLATILE_FIELDS.has(name)) stack.push(inner);
      }
    }
  }
  return out;
}
