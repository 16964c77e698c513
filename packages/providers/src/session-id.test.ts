import { describe, expect, it, vi } from 'vitest';
import { rememberedOpenings, sessionLookup } from './session-id';
import type { SessionRequest } from './session-id';

const CALLER = 'sk-test-caller-000000000000000001';
const HEADER = 'x-session-id';

function lookup(path: string, body: unknown, over: Partial<SessionRequest> = {}): string | null {
  const raw = body === undefined ? null : Buffer.from(JSON.stringify(body));
  return sessionLookup({ path, headers: {}, body: raw, callerKey: CALLER, ...over })(HEADER);
}

const CHAT = '/v1/chat/completions';
const RESPONSES = '/v1/responses';
const MESSAGES = '/v1/messages';
const GEMINI = '/v1beta/models/gemini-2.5-pro:generateContent';

/** A chat conversation after `turns` exchanges: the same opening, a growing tail. */
function chatTurn(turns: number, system = 'You are terse.'): unknown {
  const messages: unknown[] = [
    { role: 'system', content: system },
    { role: 'user', content: 'Plan a trip to Lisbon.' },
  ];
  for (let i = 1; i < turns; i++)
    messages.push({ role: 'assistant', content: `answer ${i}` }, { role: 'user', content: `follow-up ${i}` });
  return { model: 'gpt-4o', messages };
}

describe('sessionLookup: ids the client names', () => {
  it('takes prompt_cache_key first, on chat completions and the Responses API', () => {
    const a = lookup(CHAT, { prompt_cache_key: 'conv-1', ...(chatTurn(1) as object) });
    expect(a).toMatch(/^[\w-]{22}$/);
    expect(lookup(CHAT, { prompt_cache_key: 'conv-1', ...(chatTurn(5, 'other') as object) })).toBe(a);
    expect(lookup(RESPONSES, { prompt_cache_key: 'conv-1', input: 'hi' })).toBe(a);
    expect(lookup(CHAT, { prompt_cache_key: 'conv-2', ...(chatTurn(1) as object) })).not.toBe(a);
  });

  it('takes Anthropic metadata.user_id, whatever the messages say', () => {
    const user = 'user_abc_account__session_7f3e';
    const first = lookup(MESSAGES, {
      metadata: { user_id: user },
      messages: [{ role: 'user', content: 'a' }],
    });
    const later = lookup(MESSAGES, {
      metadata: { user_id: user },
      messages: [{ role: 'user', content: 'b' }],
    });
    expect(first).not.toBeNull();
    expect(later).toBe(first);
  });

  it("keeps the client's value out of the id (it may name a user)", () => {
    const id = lookup(MESSAGES, { metadata: { user_id: 'alice@example.com' }, messages: [] });
    expect(id).not.toContain('alice');
    expect(id).toHaveLength(22);
  });

  it('reads the group header when the body names no session, and the body wins over it', () => {
    const headers = { [HEADER]: 'thread-42' };
    const byHeader = lookup(CHAT, chatTurn(1), { headers });
    expect(byHeader).toBe(lookup(CHAT, chatTurn(3, 'changed'), { headers }));
    expect(byHeader).not.toBe(lookup(CHAT, chatTurn(1)));
    const both = lookup(CHAT, { prompt_cache_key: 'thread-42', ...(chatTurn(1) as object) }, { headers });
    expect(both).toBe(lookup(CHAT, { prompt_cache_key: 'thread-42' }));
  });

  it('reads whichever header the group configured', () => {
    const read = sessionLookup({
      path: '/v1/embeddings',
      headers: { 'x-conversation': 'c1' },
      body: Buffer.from('{"input":"x"}'),
      callerKey: CALLER,
    });
    expect(read('x-session-id')).toBeNull();
    expect(read('x-conversation')).not.toBeNull();
  });
});

describe('sessionLookup: the prompt fingerprint', () => {
  it('gives every turn of one chat conversation the same id, and other conversations others', () => {
    const id = lookup(CHAT, chatTurn(1));
    expect(id).not.toBeNull();
    for (let turn = 2; turn <= 20; turn++) expect(lookup(CHAT, chatTurn(turn))).toBe(id);
    expect(lookup(CHAT, chatTurn(3, 'You are verbose.'))).not.toBe(id);
  });

  it('tells callers apart: the same prompt from another key is another session', () => {
    expect(lookup(CHAT, chatTurn(1), { callerKey: 'sk-test-caller-000000000000000002' })).not.toBe(
      lookup(CHAT, chatTurn(1)),
    );
  });

  it('reads developer messages and content parts in chat completions', () => {
    const body = (extra: unknown[]) => ({
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Rules.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello' },
            { type: 'image_url', image_url: { url: 'data:x' } },
          ],
        },
        ...extra,
      ],
    });
    const id = lookup(CHAT, body([]));
    expect(
      lookup(
        CHAT,
        body([
          { role: 'assistant', content: 'Hi' },
          { role: 'system', content: 'late' },
        ]),
      ),
    ).toBe(id);
    const otherImage = body([]);
    (otherImage.messages[1] as { content: Array<{ image_url?: { url: string } }> }).content[1] = {
      image_url: { url: 'data:y' },
    };
    expect(lookup(CHAT, otherImage)).not.toBe(id);
  });

  it('reads the Responses API instructions and first input item', () => {
    const first = lookup(RESPONSES, { instructions: 'Be brief.', input: [{ role: 'user', content: 'Q1' }] });
    const second = lookup(RESPONSES, {
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'Q1' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'A1' }] },
        { role: 'user', content: 'Q2' },
      ],
    });
    expect(second).toBe(first);
    expect(
      lookup(RESPONSES, { instructions: 'Be long.', input: [{ role: 'user', content: 'Q1' }] }),
    ).not.toBe(first);
    expect(lookup(RESPONSES, { input: 'just text' })).not.toBeNull();
  });

  it('reads Anthropic system blocks and ignores the cache_control markers clients move between turns', () => {
    const system = [{ type: 'text', text: 'You are Claude Code.' }];
    const turn1 = {
      system: [{ ...system[0], cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'fix it', cache_control: { type: 'ephemeral' } }] },
      ],
    };
    const turn2 = {
      system,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'fix it' }] },
        { role: 'assistant', content: 'done' },
        { role: 'user', content: [{ type: 'text', text: 'thanks', cache_control: { type: 'ephemeral' } }] },
      ],
    };
    expect(lookup(MESSAGES, turn1)).not.toBeNull();
    expect(lookup(MESSAGES, turn2)).toBe(lookup(MESSAGES, turn1));
    expect(lookup(MESSAGES, { ...turn2, system: 'Another agent.' })).not.toBe(lookup(MESSAGES, turn1));
  });

  it('reads Gemini systemInstruction (either spelling) and the first user content', () => {
    const opening = { parts: [{ text: 'Be kind.' }] };
    const first = lookup(GEMINI, {
      systemInstruction: opening,
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
    });
    const later = lookup('/v1beta/models/gemini-2.5-pro:streamGenerateContent', {
      system_instruction: opening,
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello' }] },
        { role: 'user', parts: [{ text: 'More' }] },
      ],
    });
    expect(first).not.toBeNull();
    expect(later).toBe(first);
    // A single-turn request may leave the role out.
    expect(lookup(GEMINI, { systemInstruction: opening, contents: [{ parts: [{ text: 'Hi' }] }] })).toBe(
      first,
    );
  });

  it('hashes only the start of a huge part', () => {
    const big = 'x'.repeat(200_000);
    const a = lookup(CHAT, { messages: [{ role: 'user', content: `${big}tail-a` }] });
    const b = lookup(CHAT, { messages: [{ role: 'user', content: `${big}tail-b` }] });
    expect(a).not.toBeNull();
    expect(b).toBe(a);
  });

  it('keeps the caller key out of the id', () => {
    const id = lookup(CHAT, chatTurn(1)) ?? '';
    expect(id).not.toContain(CALLER.slice(8, 20));
    expect(id).toHaveLength(22);
  });
});

describe('sessionLookup: refusing nothing', () => {
  it.each([
    ['a body that is not JSON', CHAT, 'not json{'],
    ['no messages', CHAT, '{"model":"gpt-4o"}'],
    ['an endpoint without a conversation', '/v1/embeddings', '{"input":"hello"}'],
    ['a model list', '/v1/models', null],
  ])('answers null for %s', (_name, path, text) => {
    const body = text === null ? null : Buffer.from(text);
    expect(sessionLookup({ path, headers: {}, body, callerKey: CALLER })(HEADER)).toBeNull();
  });

  it('parses only the opening turns, once however often it is asked', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const history = Array.from({ length: 50 }, (_, i) => ({ role: 'assistant', content: `TAIL-${i}` }));
      const body = Buffer.from(
        JSON.stringify({
          metadata: {},
          system: 's',
          messages: [{ role: 'user', content: 'u' }, ...history, { role: 'user', content: 'TAIL-last' }],
        }),
      );
      const read = sessionLookup({ path: MESSAGES, headers: {}, body, callerKey: CALLER });
      const first = read(HEADER);
      const calls = parse.mock.calls.length;
      expect(first).not.toBeNull();
      expect(calls).toBeGreaterThan(0);
      expect([read(HEADER), read('x-other')]).toEqual([first, first]);
      expect(parse.mock.calls.length).toBe(calls);
      // The history after the first user turn is scanned past, never parsed.
      expect(parse.mock.calls.some(([text]) => String(text).includes('TAIL'))).toBe(false);
    } finally {
      parse.mockRestore();
    }
  });

  it.each([
    ['a malformed first turn', '{"messages":[{"role":"user","content":"u"x}]}'],
    ['a malformed system field', '{"system":{"a":},"messages":[{"role":"user","content":"u"}]}'],
    ['an array that breaks off', '{"messages":[{"role":"system","content":"s"} {"role":"user"}]}'],
  ])('answers null for %s, as for a body that is not JSON', (_name, text) => {
    expect(
      sessionLookup({ path: MESSAGES, headers: {}, body: Buffer.from(text), callerKey: CALLER })(HEADER),
    ).toBeNull();
  });

  it('reads a first turn nested 200,000 levels deep without throwing (the hash walks a bounded part of it)', () => {
    const deep = `{"messages":[{"role":"user","content":${'['.repeat(200_000)}${']'.repeat(200_000)}}]}`;
    const id = sessionLookup({ path: CHAT, headers: {}, body: Buffer.from(deep), callerKey: CALLER })(HEADER);
    expect(id).toMatch(/^[\w-]{22}$/);
    // Unbalanced, and a string hiding brackets and escaped quotes before the turn that counts.
    const tricky = `{"messages":[{"role":"system","content":"[{\\"]}"},{"role":"user","content":"u"}${'['.repeat(1000)}`;
    expect(
      sessionLookup({ path: CHAT, headers: {}, body: Buffer.from(tricky), callerKey: CALLER })(HEADER),
    ).toMatch(/^[\w-]{22}$/);
  });

  it('does not parse an OpenAI body that names prompt_cache_key or comes with the header', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(lookup(CHAT, { prompt_cache_key: 'k', messages: [] })).not.toBeNull();
      const raw = Buffer.from(JSON.stringify(chatTurn(2)));
      expect(
        sessionLookup({ path: CHAT, headers: { [HEADER]: 's' }, body: raw, callerKey: CALLER })(HEADER),
      ).not.toBeNull();
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  // Ids computed by the version that parsed whole bodies: sessions remembered before an upgrade (in memory, or in
  // Redis shared by gateways of both versions) keep their key.
  it.each([
    [
      CHAT,
      {
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Plan a trip to Lisbon.' },
          { role: 'assistant', content: 'ok' },
        ],
      },
      0,
      'HZHFKz1CsC4TP4QAWruyfK',
    ],
    [
      CHAT,
      {
        messages: [
          { role: 'system', content: 'Sé breve \u{1F600} "quoted" \\ back' },
          { role: 'user', content: 'naïve\nline' },
        ],
      },
      2,
      'ljWV89sL-Lo0IdetWwSvwW',
    ],
    [RESPONSES, { input: 'just text', instructions: null }, 0, 'nfPmNx_cP50nGme58guzyx'],
    [
      MESSAGES,
      {
        system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'fix it' }] }],
      },
      0,
      'vDQ-Nd8c_8LZbBN69fpcN3',
    ],
    [
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent',
      { system_instruction: { parts: [{ text: 'Be kind.' }] }, contents: [{ parts: [{ text: 'Hi' }] }] },
      0,
      'ioa1yWKGpZmY2AuYWolH7n',
    ],
  ])('keeps the ids of earlier versions (%s)', (path, body, indent, id) => {
    const raw = Buffer.from(JSON.stringify(body, null, indent));
    expect(sessionLookup({ path, headers: {}, body: raw, callerKey: CALLER })(HEADER)).toBe(id);
  });
});

describe('sessionLookup: remembered chat openings', () => {
  const opening = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Plan a trip to Lisbon.' },
  ];
  const chat = (messages: unknown[]) => Buffer.from(JSON.stringify({ model: 'gpt-4o', messages }));
  const read = (body: Buffer, callerKey = CALLER) =>
    sessionLookup({ path: CHAT, headers: {}, body, callerKey })(HEADER);

  it('answers a repeated opening without a parse, with the id the parse gave', () => {
    const callerKey = 'sk-test-caller-remembered-0000001';
    const turns = [1, 2, 3, 4].map((n) =>
      chat([...opening, ...Array.from({ length: n }, (_, i) => ({ role: 'assistant', content: `a${i}` }))]),
    );
    const cold = turns.map((body) => read(body, callerKey));
    expect(new Set(cold).size).toBe(1);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(turns.map((body) => read(body, callerKey))).toEqual(cold);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    // The id of earlier versions, remembered or not.
    const known = Buffer.from(
      JSON.stringify({ model: 'gpt-4o', messages: [...opening, { role: 'assistant', content: 'ok' }] }),
    );
    for (let i = 0; i < 3; i++) expect(read(known)).toBe('HZHFKz1CsC4TP4QAWruyfK');
  });

  it('never gives two callers one id, even callers whose keys end alike', () => {
    const body = chat(opening);
    const callers = ['sk-a-same-tail-12345678', 'sk-b-same-tail-12345678', 'sk-c-other-tail-000000'];
    const ids = callers.map((callerKey) => read(body, callerKey));
    for (let round = 0; round < 3; round++)
      expect(callers.map((callerKey) => read(body, callerKey))).toEqual(ids);
    expect(new Set(ids).size).toBe(callers.length);
  });

  it('reads turns the byte scan guesses wrong as the parse does', () => {
    const bodies = [
      // A later duplicate of role: the parse takes the last.
      '{"messages":[{"role":"user","role":"system","content":"s"},{"role":"user","content":"u"}]}',
      // An escaped role, and a role that is not the first field.
      '{"messages":[{"role":"\\u0075ser","content":"u"},{"role":"user","content":"v"}]}',
      '{"messages":[{"content":"w","role":"user"},{"role":"user","content":"v"}]}',
    ].map((text) => Buffer.from(text));
    const cold = bodies.map((body) => read(body, 'sk-test-caller-guesses-000001'));
    expect(new Set(cold).size).toBe(3);
    for (let round = 0; round < 3; round++)
      expect(bodies.map((body) => read(body, 'sk-test-caller-guesses-000001'))).toEqual(cold);
  });

  it('stays bounded however many distinct openings come, each twice', () => {
    for (let i = 0; i < 100_000; i++) {
      const body = chat([{ role: 'user', content: `opening ${i}` }]);
      read(body);
      read(body);
    }
    const { entries, bytes } = rememberedOpenings();
    expect(entries).toBeGreaterThan(0);
    expect(entries).toBeLessThanOrEqual(4096);
    expect(bytes).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
