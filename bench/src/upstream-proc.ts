/**
 * Child process: the bench upstream, an OpenAI chat completions endpoint that costs as little CPU per request as
 * a plain node:http server can, so that it is not what caps a gateway's rate (the rule in headroom.ts). The
 * @keyway/testing fake upstream parses every body, records every request and scripts failures: ~230 µs of CPU a
 * request, which capped the direct run at ~4.5k req/s. Here answers are prebuilt buffers (answers refreshed once
 * a second for `created`), the key comes from the raw headers and the stream flag from a byte search.
 *
 * Routes: POST /v1/chat/completions (JSON, or SSE with every event written as its own chunk, STREAM_DELAY_MS
 * apart, STREAM_CHUNKS deltas), GET /v1/models. Keys must start with `sk-` (else 401). A control server counts
 * requests per key and path: GET /stats, POST /reset. Prints `READY {"url":…,"control":…}` once both listen.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithParent } from './orphan-guard';
import {
  answerChunks,
  bearerKey,
  BENCH_MODEL,
  chatCompletionBody,
  chatStreamEvents,
  errorBody,
  RequestCounters,
  streamWanted,
} from './upstream-answers';

const delayMs = Number(process.env.STREAM_DELAY_MS ?? 2);
const chunks = answerChunks(Number(process.env.STREAM_CHUNKS ?? 8));

interface Answers {
  json: Buffer;
  jsonHeaders: string[];
  events: Buffer[];
  eventsWithUsage: Buffer[];
}
function buildAnswers(): Answers {
  const created = Math.floor(Date.now() / 1000);
  const spec = { chunks, created, id: `bench${created.toString(36)}` };
  const json = chatCompletionBody(spec);
  return {
    json,
    jsonHeaders: ['content-type', 'application/json', 'content-length', String(json.length)],
    events: chatStreamEvents(spec, false),
    eventsWithUsage: chatStreamEvents(spec, true),
  };
}
let answers = buildAnswers();
setInterval(() => (answers = buildAnswers()), 1000).unref();

const SSE_HEADERS = ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache'];
const MODELS = Buffer.from(
  JSON.stringify({
    object: 'list',
    data: [{ id: BENCH_MODEL, object: 'model', created: 1_700_000_000, owned_by: 'keyway-bench' }],
  }),
);
const counters = new RequestCounters();

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(body.length)]);
  res.end(body);
}

/** Writes `events` one by one, `delayMs` apart (on the next turn of the loop when 0), each its own write. */
function sendStream(res: ServerResponse, events: readonly Buffer[]): void {
  res.writeHead(200, SSE_HEADERS);
  let i = 0;
  const next = (): void => {
    if (res.destroyed) {
      counters.aborted++;
      return;
    }
    const event = events[i++] as Buffer;
    if (i >= events.length) {
      res.end(event);
      return;
    }
    res.write(event);
    if (delayMs > 0) setTimeout(next, delayMs);
    else setImmediate(next);
  };
  next();
}

function chat(req: IncomingMessage, res: ServerResponse): void {
  const parts: Buffer[] = [];
  req.on('data', (chunk: Buffer) => parts.push(chunk));
  req.on('end', () => {
    const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const { stream, includeUsage } = streamWanted(body);
    const a = answers;
    if (!stream) {
      res.writeHead(200, a.jsonHeaders);
      res.end(a.json);
    } else sendStream(res, includeUsage ? a.eventsWithUsage : a.events);
  });
}

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const key = bearerKey(req.rawHeaders);
  counters.count(key, path);
  if (key === undefined || !key.startsWith('sk-')) {
    req.resume();
    send(res, 401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
  } else if (req.method === 'POST' && path === '/v1/chat/completions') {
    chat(req, res);
  } else if (req.method === 'GET' && path === '/v1/models') {
    send(res, 200, MODELS);
  } else {
    req.resume();
    send(
      res,
      404,
      errorBody(`Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url'),
    );
  }
});

const control = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/reset') counters.reset();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(counters));
});

const listen = (s: typeof server): Promise<string> =>
  new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
const [url, controlUrl] = await Promise.all([listen(server), listen(control)]);

const shutdown = (): void => {
  control.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
exitWithParent();

process.stdout.write(`READY ${JSON.stringify({ url, control: controlUrl })}\n`);
