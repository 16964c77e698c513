import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible upstream that echoes: its errors quote the credential headers, the query, the body it
 * received and the `known` secrets (the case: an error message with the caller's proxy key or AUTH_KEY in
 * it). The request's `model` (or a Gemini path's `models/eNNN:`) picks the answer: `ok` (or anything else) 200, with
 * SSE when the body asks to stream; `eNNN` that status; `hang` no answer; `reset` a dropped connection.
 */
export function startEchoUpstream(known: readonly string[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let model = '';
      try {
        const m = (JSON.parse(body || '{}') as { model?: unknown }).model;
        model = typeof m === 'string' ? m : '';
      } catch {
        model = '';
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'ok', object: 'model' }] }));
        return;
      }
      if (model === 'hang') return; // never answers: the gateway's timeout ends it
      if (model === 'reset') {
        req.socket.destroy();
        return;
      }
      // Gemini names the model in the path.
      const status = /^e(\d{3})$/.exec(model)?.[1] ?? /\/models\/e(\d{3}):/.exec(req.url ?? '')?.[1];
      if (!status) {
        if (body.includes('"stream":true')) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [] };
          res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
        return;
      }
      const echoed = [
        `authorization=${req.headers.authorization ?? ''}`,
        `x-api-key=${String(req.headers['x-api-key'] ?? '')}`,
        `x-goog-api-key=${String(req.headers['x-goog-api-key'] ?? '')}`,
        `url=${req.url ?? ''}`,
        `body=${body}`,
        `known=${known.join(' ')}`,
      ].join(' | ');
      res.writeHead(Number(status), {
        'content-type': 'application/json',
        ...(status === '429' ? { 'retry-after': '1' } : {}),
        // Some upstreams name the credential they saw in a header: a relayed header must not carry it out.
        'x-echo-credential': String(req.headers.authorization ?? req.headers['x-api-key'] ?? ''),
      });
      res.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${echoed}`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        }),
      );
    });
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () =>
      done({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}
