import { describe, expect, it } from 'vitest';
import type { ReplyFraming, ReplyVerdict } from './empty-reply';
import { emptyReplyCheck } from './empty-reply';

const CHAT = ['openai', 'POST', '/v1/chat/completions'] as const;
const RESPONSES = ['openai-response', 'POST', '/v1/responses'] as const;
const MESSAGES = ['anthropic', 'POST', '/v1/messages'] as const;
const GEMINI = ['gemini', 'POST', '/v1beta/models/gemini-2.5-pro:generateContent'] as const;
const GEMINI_STREAM = ['gemini', 'POST', '/v1beta/models/gemini-2.5-pro:streamGenerateContent'] as const;

type Endpoint = readonly [string, string, string];

/** The verdict on a reply fed in pieces of `size` characters (split inside lines and JSON alike). */
function verdict(endpoint: Endpoint, framing: ReplyFraming, body: string, size = 7): ReplyVerdict {
  const check = emptyReplyCheck(...endpoint);
  if (!check) throw new Error(`no check for ${endpoint.join(' ')}`);
  const watch = check.watch(framing);
  for (let i = 0; i < body.length; i += size) {
    const v = watch.push(body.slice(i, i + size));
    if (v) return v;
  }
  return watch.end();
}

const json = (endpoint: Endpoint, body: unknown) => verdict(endpoint, 'json', JSON.stringify(body));
/** SSE events of payloads, named by their `type` when they have one (as Anthropic and Responses send them). */
const sseOf = (events: unknown[]) =>
  events
    .map((data) => {
      const type = (data as { type?: unknown }).type;
      return `${typeof type === 'string' ? `event: ${type}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
    })
    .join('');

describe('emptyReplyCheck', () => {
  it('checks only generation calls', () => {
    expect(emptyReplyCheck('openai', 'GET', '/v1/chat/completions')).toBeNull();
    expect(emptyReplyCheck('openai', 'POST', '/v1/embeddings')).toBeNull();
    expect(emptyReplyCheck('anthropic', 'POST', '/v1/messages/count_tokens')).toBeNull();
    expect(emptyReplyCheck('gemini', 'POST', '/v1beta/models/m:countTokens')).toBeNull();
    expect(emptyReplyCheck('a-fifth-channel', 'POST', '/v1/chat/completions')).toBeNull();
    expect(emptyReplyCheck('gemini', 'POST', '/v1beta/models/m%3AgenerateContent')).not.toBeNull();
    expect(emptyReplyCheck('gemini', 'POST', '/v1beta/openai/chat/completions')).not.toBeNull();
  });
});

describe('whole JSON replies', () => {
  it.each<[string, Endpoint, unknown, ReplyVerdict]>([
    ['chat: no choices', CHAT, { id: 'x', choices: [] }, 'empty'],
    ['chat: no choices field', CHAT, { id: 'x' }, 'empty'],
    [
      'chat: empty content',
      CHAT,
      { choices: [{ message: { role: 'assistant', content: '' }, finish_reason: 'stop' }] },
      'empty',
    ],
    [
      'chat: null content, null refusal',
      CHAT,
      { choices: [{ message: { role: 'assistant', content: null, refusal: null } }] },
      'empty',
    ],
    ['chat: text', CHAT, { choices: [{ message: { content: 'Hi' } }] }, 'content'],
    [
      'chat: a tool call',
      CHAT,
      { choices: [{ message: { content: null, tool_calls: [{ id: 'c', type: 'function' }] } }] },
      'content',
    ],
    ['chat: a refusal', CHAT, { choices: [{ message: { content: null, refusal: 'No.' } }] }, 'content'],
    ['chat: audio', CHAT, { choices: [{ message: { content: null, audio: { id: 'a' } } }] }, 'content'],
    [
      'chat: cut short by max_tokens',
      CHAT,
      { choices: [{ message: { content: '' }, finish_reason: 'length' }] },
      'content',
    ],
    [
      'legacy completion text',
      ['openai', 'POST', '/v1/completions'],
      { choices: [{ text: 'x' }] },
      'content',
    ],
    ['responses: no output', RESPONSES, { object: 'response', output: [] }, 'empty'],
    [
      'responses: an empty message and an empty reasoning item',
      RESPONSES,
      {
        output: [
          { type: 'reasoning', summary: [] },
          { type: 'message', content: [{ type: 'output_text', text: '' }] },
        ],
      },
      'empty',
    ],
    [
      'responses: message text',
      RESPONSES,
      { output: [{ type: 'message', content: [{ type: 'output_text', text: 'Hi' }] }] },
      'content',
    ],
    ['responses: a function call', RESPONSES, { output: [{ type: 'function_call', name: 'f' }] }, 'content'],
    [
      'responses: a reasoning summary',
      RESPONSES,
      { output: [{ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Thinking' }] }] },
      'content',
    ],
    [
      'anthropic: no content blocks',
      MESSAGES,
      { type: 'message', content: [], stop_reason: 'end_turn' },
      'empty',
    ],
    ['anthropic: an empty text block', MESSAGES, { content: [{ type: 'text', text: '' }] }, 'empty'],
    ['anthropic: text', MESSAGES, { content: [{ type: 'text', text: 'Hi' }] }, 'content'],
    ['anthropic: a tool use', MESSAGES, { content: [{ type: 'tool_use', id: 't', input: {} }] }, 'content'],
    ['gemini: no candidates', GEMINI, { usageMetadata: { promptTokenCount: 3 } }, 'empty'],
    [
      'gemini: a blocked prompt',
      GEMINI,
      { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: {} },
      'empty',
    ],
    [
      'gemini: a candidate blocked for safety',
      GEMINI,
      { candidates: [{ finishReason: 'SAFETY', safetyRatings: [{ blocked: true }] }] },
      'empty',
    ],
    [
      'gemini: an empty STOP candidate',
      GEMINI,
      { candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP' }] },
      'empty',
    ],
    ['gemini: text', GEMINI, { candidates: [{ content: { parts: [{ text: 'Hi' }] } }] }, 'content'],
    [
      'gemini: a function call',
      GEMINI,
      { candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: {} } }] } }] },
      'content',
    ],
    [
      'gemini: cut short by maxOutputTokens',
      GEMINI,
      { candidates: [{ finishReason: 'MAX_TOKENS' }] },
      'content',
    ],
  ])('%s → %s', (_name, endpoint, body, expected) => {
    expect(json(endpoint, body)).toBe(expected);
  });

  it('takes a blank body as empty and a body that is not JSON as content', () => {
    expect(verdict(CHAT, 'json', '  \n')).toBe('empty');
    expect(verdict(CHAT, 'json', '<html>ok</html>')).toBe('content');
  });
});

describe('streams', () => {
  const role = { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] };
  const stop = { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  const usage = { choices: [], usage: { prompt_tokens: 3, completion_tokens: 0 } };
  const text = { choices: [{ index: 0, delta: { content: 'Hi' } }] };
  const tool = { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c' }] } }] };

  it.each<[string, unknown[], string, ReplyVerdict]>([
    ['no content before [DONE]', [role, stop, usage], 'data: [DONE]\n\n', 'empty'],
    ['a text delta', [role, text], '', 'content'],
    ['a tool call delta', [role, tool], '', 'content'],
  ])('OpenAI chat: %s → %s', (_name, events, done, expected) => {
    expect(verdict(CHAT, 'sse', sseOf(events) + done)).toBe(expected);
  });

  it('decides at the first content event without waiting for more', () => {
    const watch = emptyReplyCheck(...CHAT)?.watch('sse');
    expect(watch?.push(sseOf([role]))).toBeNull();
    expect(watch?.push('data: {"choices":[{"delta":{"content":"H')).toBeNull();
    expect(watch?.push('i"}}]}\r\n\r\n')).toBe('content');
  });

  it('an SSE body that ends without content, even with no [DONE], is empty', () => {
    expect(verdict(CHAT, 'sse', sseOf([role]))).toBe('empty');
    expect(verdict(CHAT, 'sse', '')).toBe('empty');
  });

  const start = { type: 'message_start', message: { content: [] } };
  const block = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };
  const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } };
  const toolUse = { type: 'content_block_start', content_block: { type: 'tool_use', id: 't', input: {} } };
  const ended = [
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' } },
    { type: 'message_stop' },
  ];
  const created = { type: 'response.created', response: { output: [] } };
  const added = { type: 'response.output_item.added', item: { type: 'message', content: [] } };
  const completed = { type: 'response.completed', response: { output: [] } };
  const textDelta = { type: 'response.output_text.delta', delta: 'Hi' };

  it.each<[string, Endpoint, unknown[], ReplyVerdict]>([
    ['Anthropic: an empty text block, then message_stop', MESSAGES, [start, block, ...ended], 'empty'],
    ['Anthropic: a text delta', MESSAGES, [start, block, delta], 'content'],
    ['Anthropic: a tool use block', MESSAGES, [start, toolUse], 'content'],
    ['Responses: no output at response.completed', RESPONSES, [created, added, completed], 'empty'],
    ['Responses: a text delta', RESPONSES, [created, textDelta], 'content'],
  ])('%s → %s', (_name, endpoint, events, expected) => {
    expect(verdict(endpoint, 'sse', sseOf(events))).toBe(expected);
  });

  it('Gemini SSE and JSON-array streams: empty without a part, content at the first part', () => {
    const blocked = { candidates: [{ finishReason: 'SAFETY' }], usageMetadata: { promptTokenCount: 4 } };
    const parts = { candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] } }] };
    expect(verdict(GEMINI_STREAM, 'sse', sseOf([blocked]))).toBe('empty');
    expect(verdict(GEMINI_STREAM, 'sse', sseOf([parts]))).toBe('content');
    const array = (items: unknown[]) => `[${items.map((i) => JSON.stringify(i)).join(',\r\n')}]`;
    expect(verdict(GEMINI_STREAM, 'json-array', array([blocked]), 3)).toBe('empty');
    expect(verdict(GEMINI_STREAM, 'json-array', array([]))).toBe('empty');
    // A string holding brackets and quotes does not confuse the element scan.
    const tricky = { candidates: [{ content: { parts: [{ text: 'a } ] \\" [ {' }] } }] };
    expect(verdict(GEMINI_STREAM, 'json-array', array([blocked, tricky]), 2)).toBe('content');
    // A JSON-array framing that turns out to be one object is judged whole.
    expect(verdict(GEMINI_STREAM, 'json-array', JSON.stringify(blocked))).toBe('empty');
  });

  it('takes data that is not JSON as content (it cannot be judged)', () => {
    expect(verdict(CHAT, 'sse', 'data: hello\n\n')).toBe('content');
  });
});
