import { hash } from 'node:crypto';
import {
  eachJsonArrayElement,
  elementsThrough,
  field,
  headerValue,
  peekJsonString,
  peekJsonValue,
} from './json-peek';
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
  elements(
    name: string,
    visit: (value: unknown, end: number) => boolean,
    stopBefore?: (from: number, to: number) => boolean,
  ): boolean {
    const found = eachJsonArrayElement(this.raw, name, visit, stopBefore);
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
        dialect === null
          ? null
          : dialect === 'chat'
            ? chatFingerprint(req.body, req.callerKey)
            : promptFingerprint(dialect, new BodyView(req.body), req.callerKey);
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
  /** End of the first user turn's bytes in the turns array, once found. */
  firstUserEnd?: number;
}

function promptFingerprint(
  dialect: Dialect,
  body: BodyView,
  callerKey: string,
  opening = openingOf(dialect, body),
): string | null {
  const { system, firstUser } = opening;
  if (body.malformed || (system.length === 0 && firstUser === undefined)) return null;
  return digest('f', [callerKey, system, firstUser ?? null]);
}

/** A chat fingerprint remembered: the caller, the `messages` bytes through the first user turn, and the id. */
interface Remembered {
  callerKey: string;
  /** The bytes as latin1 (one character a byte): a heap string costs less to keep than a buffer of its own. */
  bytes: string;
  id: string;
}

/** Openings kept at most, and their bytes: every turn of a live conversation repeats its opening. */
const MEMO_ENTRIES = 4096;
const MEMO_BYTES = 4 * 1024 * 1024;
/** Openings longer than this are not remembered (one would crowd out many). */
const MEMO_OPENING_MAX = 4096;
/** Bytes at the end of an opening mixed into its slot: the first user message, where openings differ. */
const SLOT_TAIL = 32;

/** Chat openings remembered, by {@link memoSlot}; cleared when full, so they stay bounded. */
const remembered = new Map<number, Remembered>();
let rememberedBytes = 0;

/**
 * The slots of openings seen once, each at its low bits: an opening is remembered the second time it comes. A
 * flood of distinct bodies then only writes numbers here, where remembering each (a string and an entry kept for
 * thousands of requests, then a Map rebuilt) cost more in allocation and GC than the parse and sha256 it saves.
 */
const seenOnce = new Int32Array(8192);

/**
 * A number for an opening and a caller, from a few of their bytes (a string key of the whole opening would cost
 * about as much to hash as the sha256 it saves): openings that share it only evict each other, as every hit is
 * checked byte by byte. Kept within 30 bits, a small integer to V8.
 */
function memoSlot(raw: Buffer, start: number, end: number, callerKey: string): number {
  let h = Math.imul(end - start, 0x9e3779b1) ^ callerKey.length;
  for (let i = Math.max(0, callerKey.length - 8); i < callerKey.length; i++)
    h = Math.imul(h ^ callerKey.charCodeAt(i), 0x01000193);
  for (let i = Math.max(start, end - SLOT_TAIL); i < end; i++)
    h = Math.imul(h ^ (raw[i] as number), 0x01000193);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * The chat fingerprint, remembered by the bytes it is read from: every turn of a conversation repeats its opening,
 * and one seen before costs a scan and a string compare instead of a parse and a sha256. Before the first turn is
 * parsed, a byte scan guesses where the first user turn ends (the first turn whose first field is `"role":"user"`);
 * an id is remembered by the bytes from the first turn through there, and only when the parse stopped at that same
 * byte: equal bytes from the same caller then give the id the parse would.
 */
function chatFingerprint(raw: Buffer | null, callerKey: string): string | null {
  if (raw === null) return null;
  const body = new BodyView(raw);
  let first = -1;
  let guessed = -1;
  let slot = 0;
  let seen: Remembered | undefined;
  let hit = null as string | null;
  const opening = leadingTurns(body, 'messages', 'content', false, (from) => {
    if (first >= 0) return false;
    first = from;
    guessed = elementsThrough(raw, from, 'role', 'user');
    if (guessed < 0 || guessed - first > MEMO_OPENING_MAX) return false;
    slot = memoSlot(raw, first, guessed, callerKey);
    seen = remembered.get(slot);
    if (
      seen !== undefined &&
      seen.callerKey === callerKey &&
      seen.bytes.length === guessed - first &&
      seen.bytes === raw.toString('latin1', first, guessed)
    )
      hit = seen.id;
    return hit !== null;
  });
  if (hit !== null) return hit;
  const id = promptFingerprint('chat', body, callerKey, opening);
  const size = guessed - first;
  if (id === null || guessed < 0 || opening.firstUserEnd !== guessed || size > MEMO_OPENING_MAX) return id;
  const at = slot & (seenOnce.length - 1);
  if (seenOnce[at] !== slot) {
    seenOnce[at] = slot;
    return id;
  }
  // Another opening in the slot gives way (it would only miss from now on).
  if (seen !== undefined) {
    remembered.delete(slot);
    rememberedBytes -= seen.bytes.length;
  }
  if (remembered.size >= MEMO_ENTRIES || rememberedBytes + size > MEMO_BYTES) {
    remembered.clear();
    rememberedBytes = 0;
  }
  remembered.set(slot, { callerKey, bytes: raw.toString('latin1', first, guessed), id });
  rememberedBytes += size;
  return id;
}

/** How many chat openings are remembered, and their bytes (for tests: the memo stays bounded). */
export function rememberedOpenings(): { entries: number; bytes: number } {
  return { entries: remembered.size, bytes: rememberedBytes };
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
function leadingTurns(
  body: BodyView,
  name: string,
  contentField: string,
  roleless = false,
  stopBefore?: (from: number, to: number) => boolean,
): Opening {
  const opening: Opening = { system: [], firstUser: undefined };
  body.elements(
    name,
    (turn, end) => {
      const role = field(turn, 'role');
      if (role === 'user' || (roleless && role === undefined)) {
        opening.firstUser = field(turn, contentField);
        opening.firstUserEnd = end;
        return true;
      }
      if (role === 'system' || role === 'developer') opening.system.push(field(turn, contentField));
      return false;
    },
    stopBefore,
  );
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
