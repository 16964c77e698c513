/** Sequential requests over one keep-alive connection with node:http: 1-connection latency and SSE timing. */
import { Agent, request } from 'node:http';

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

export interface Timing {
  status: number;
  /** Response headers received. */
  headersMs: number;
  /** First body byte received. */
  firstByteMs: number;
  totalMs: number;
  /** `data` events on the response (socket reads). */
  reads: number;
  /** Complete SSE `data:` events. */
  sseEvents: number;
  bytes: number;
}

/** One POST; times headers, first body byte and end from just before the request is written. */
export function timedRequest(target: Target, body: Buffer, agent: Agent): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const r: Timing = {
      status: 0,
      headersMs: 0,
      firstByteMs: 0,
      totalMs: 0,
      reads: 0,
      sseEvents: 0,
      bytes: 0,
    };
    let text = '';
    const req = request(
      target.url,
      {
        method: 'POST',
        agent,
        headers: { ...target.headers, 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        r.status = res.statusCode ?? 0;
        r.headersMs = performance.now() - t0;
        res.on('data', (chunk: Buffer) => {
          if (r.reads === 0) r.firstByteMs = performance.now() - t0;
          r.reads++;
          r.bytes += chunk.length;
          text += chunk.toString('utf8');
        });
        res.on('end', () => {
          r.totalMs = performance.now() - t0;
          r.sseEvents = text.split(/\r?\n\r?\n/).filter((e) => /^data:/m.test(e)).length;
          resolve(r);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `warmup` unrecorded then `samples` recorded sequential requests on one keep-alive connection. */
export async function sequential(
  target: Target,
  body: Buffer,
  opts: { warmup: number; samples?: number; durationMs?: number },
): Promise<Timing[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < opts.warmup; i++) await timedRequest(target, body, agent);
    const out: Timing[] = [];
    const until = performance.now() + (opts.durationMs ?? Infinity);
    while (out.length < (opts.samples ?? Infinity) && performance.now() < until) {
      out.push(await timedRequest(target, body, agent));
    }
    return out;
  } finally {
    agent.destroy();
  }
}
