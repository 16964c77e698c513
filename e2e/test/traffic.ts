// Client-side helpers: proxied calls over keep-alive connections, load loops spread over several gateways,
// polling with a measured elapsed time, and one clearly labelled line per measurement.
import { Agent, request } from 'node:http';
import OpenAI from 'openai';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Prints a measurement so it stands out in the test output. */
export function report(label: string, value: string | number): void {
  console.log(`[e2e] ${label}: ${value}`);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns true (a throw counts as false) and resolves with the milliseconds from the call
 * to the end of the passing check; rejects after `timeoutMs` with `what` and the last error.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  intervalMs = 10,
): Promise<number> {
  const started = performance.now();
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return Math.round(performance.now() - started);
    } catch (error) {
      last = error;
    }
    if (performance.now() - started > timeoutMs) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    if (intervalMs > 0) await sleep(intervalMs);
  }
}

/** The outcome of one HTTP call; `status` 0 when the connection failed (refused, reset). */
export interface CallResult {
  status: number;
  body: string;
  requestId: string | undefined;
  /** The network error, for status 0. */
  error?: string;
}

/** One HTTP call on a keep-alive connection; never throws. */
export function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<CallResult> {
  return new Promise((resolve) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string | number> = { ...options.headers };
    if (body) headers['content-length'] = body.length;
    const req = request(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const rid = res.headers['x-request-id'];
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          requestId: typeof rid === 'string' ? rid : undefined,
        });
      });
      res.on('error', (e) => resolve({ status: 0, body: '', requestId: undefined, error: e.message }));
    });
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, body: '', requestId: undefined, error: e.message }));
    req.end(body);
  });
}

/** What a chat completion call sends. */
export interface ChatOptions {
  proxyKey: string;
  model?: string;
  content?: string;
  requestId?: string;
}

/** A non-streaming OpenAI chat completion through `/proxy/{group}/v1/chat/completions`. */
export function chat(gateway: string, group: string, options: ChatOptions): Promise<CallResult> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.proxyKey}`,
    'content-type': 'application/json',
  };
  if (options.requestId) headers['x-request-id'] = options.requestId;
  return call(`${gateway}/proxy/${group}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      model: options.model ?? 'gpt-4.1-nano',
      messages: [{ role: 'user', content: options.content ?? 'hi' }],
    }),
  });
}

/** The official OpenAI SDK pointed at a gateway's group. */
export function openaiFor(gateway: string, group: string, proxyKey: string): OpenAI {
  return new OpenAI({ baseURL: `${gateway}/proxy/${group}/v1`, apiKey: proxyKey, maxRetries: 0 });
}

/** Per-gateway tally of a load run. */
export interface TargetTally {
  ok: number;
  failed: number;
  /** Request ids of the successful calls (the gateway logs them under these ids). */
  okIds: string[];
  /** Distinct failure descriptions with their counts. */
  failures: Map<string, number>;
}

/** A running load loop. */
export interface LoadRun {
  /** Tallies so far, by target URL. */
  readonly tally: ReadonlyMap<string, TargetTally>;
  /** Successful calls so far, all targets. */
  ok(): number;
  /** Request ids of the successful calls, all targets. */
  okIds(): string[];
  failed(): number;
  /** Stops issuing calls and waits for those in flight. */
  stop(): Promise<ReadonlyMap<string, TargetTally>>;
}

/**
 * Sends chat completions with `concurrency` loops until stopped, request i going to `targets()[i % n]` (so
 * the gateways take turns), each tagged with request id `${tag}-${i}`.
 */
export function startLoad(options: {
  targets: () => readonly string[];
  group: string;
  proxyKey: string;
  tag: string;
  concurrency: number;
  /** Stop by itself after this many calls. */
  limit?: number;
}): LoadRun & { done: Promise<void> } {
  const tally = new Map<string, TargetTally>();
  let next = 0;
  let stopped = false;
  let ok = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    while (!stopped && (options.limit === undefined || next < options.limit)) {
      const i = next++;
      const targets = options.targets();
      const target = targets[i % targets.length] as string;
      const requestId = `${options.tag}-${i}`;
      const res = await chat(target, options.group, { proxyKey: options.proxyKey, requestId });
      let t = tally.get(target);
      if (!t) tally.set(target, (t = { ok: 0, failed: 0, okIds: [], failures: new Map() }));
      if (res.status === 200) {
        ok++;
        t.ok++;
        t.okIds.push(requestId);
      } else {
        failed++;
        t.failed++;
        // A refused connection fails at once: don't spin on a gateway that is down.
        if (res.status === 0) await sleep(20);
        const why = res.status === 0 ? `network: ${res.error}` : `${res.status}: ${res.body.slice(0, 120)}`;
        t.failures.set(why, (t.failures.get(why) ?? 0) + 1);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => undefined);
  return {
    tally,
    done,
    ok: () => ok,
    okIds: () => [...tally.values()].flatMap((t) => t.okIds),
    failed: () => failed,
    async stop() {
      stopped = true;
      await done;
      return tally;
    },
  };
}

/** A one-line summary of a load run's tallies, for the report. */
export function describeTally(tally: ReadonlyMap<string, TargetTally>, names: Map<string, string>): string {
  return [...tally]
    .map(([url, t]) => {
      const why = [...t.failures].map(([w, n]) => `${n}× ${w}`).join('; ');
      return `${names.get(url) ?? url} ok=${t.ok} failed=${t.failed}${why ? ` (${why})` : ''}`;
    })
    .join(', ');
}
