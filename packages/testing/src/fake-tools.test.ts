import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream';

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.close();
});

const weather = { name: 'get_weather', description: 'Weather of a city' };
const citySchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

describe('fake upstream tool calls (each provider’s own format)', () => {
  it('OpenAI chat: calls the first tool, JSON and streamed, and answers text after a tool result', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const tools = [{ type: 'function' as const, function: { ...weather, parameters: citySchema } }];
    const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages, tools });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(res.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function).toEqual({
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });

    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages, tools, stream: true });
    const done = await stream.finalChatCompletion();
    const streamed = done.choices[0]?.message.tool_calls?.[0];
    expect(streamed?.type === 'function' && JSON.parse(streamed.function.arguments)).toEqual({
      city: 'Paris',
    });

    const after = await client.chat.completions.create({
      model: 'gpt-4o',
      tools,
      messages: [
        ...messages,
        { role: 'assistant', content: null, tool_calls: res.choices[0]?.message.tool_calls ?? [] },
        { role: 'tool', tool_call_id: call?.id ?? '', content: 'sunny' },
      ],
    });
    expect(after.choices[0]?.message.content).toBe('Hello from fake upstream');
  });

  it('Anthropic messages: a tool_use block, JSON and streamed', async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
    const params = {
      model: 'claude-fake',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      tools: [{ ...weather, input_schema: citySchema as Anthropic.Tool.InputSchema }],
    };
    const msg = await client.messages.create(params);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    const final = await client.messages.stream(params).finalMessage();
    expect(final.content[0]).toMatchObject({
      type: 'tool_use',
      name: 'get_weather',
      input: { city: 'Paris' },
    });
  });

  it('Gemini: a functionCall part, unless the last turn is a functionResponse', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'AIzaTest' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ candidates: Array<{ content: { parts: unknown[] } }> }>);
    const tools = [{ functionDeclarations: [{ ...weather, parameters: citySchema }] }];
    const user = { role: 'user', parts: [{ text: 'Weather in Paris?' }] };
    const call = await post({ contents: [user], tools });
    expect(call.candidates[0]?.content.parts).toEqual([
      { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
    ]);
    const reply = {
      role: 'user',
      parts: [{ functionResponse: { name: 'get_weather', response: { sky: 'sunny' } } }],
    };
    const after = await post({
      contents: [user, { role: 'model', parts: call.candidates[0]?.content.parts }, reply],
      tools,
    });
    expect(after.candidates[0]?.content.parts).toEqual([{ text: 'Hello from fake upstream' }]);
  });
});
