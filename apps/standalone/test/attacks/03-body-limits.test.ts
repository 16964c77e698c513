/**
 * Issue 11 item 3: `POST /api/auth/login` (unauthenticated) read a 200 MB body before answering 400 — RSS 158 →
 * 719 MiB, four in parallel peaked at 1.6 GiB; `paramOverrides` nested 2,500 deep gave a 500 (RangeError); and a
 * 413 reached one uploading client in two as EPIPE instead of a response (SDKs retry those, re-uploading).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupWithKey, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

const MiB = 1024 * 1024;

/** Resident set size and its high-water mark of the standalone process, in MiB (Linux). */
function memory(target: AttackTarget): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${target.proc.child.pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

interface Upload {
  status: number | null;
  body: string;
  /** An error after (or instead of) the response: EPIPE, ECONNRESET… */
  error: string | null;
}

/**
 * Sends a body the way SDKs do — node:http, writing all of it whatever the server answers meanwhile — and settles
 * once the connection is gone, so an error after the response counts too. `size` bytes with Content-Length, or a
 * chunked stream of `size` bytes when `chunked`.
 */
function upload(
  url: string,
  size: number,
  options: { headers?: Record<string, string>; chunked?: boolean } = {},
): Promise<Upload> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let body = '';
    let error: string | null = null;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (!options.chunked) headers['content-length'] = String(size);
    const req = request(url, { method: 'POST', headers }, (res) => {
      status = res.statusCode ?? null;
      res.on('data', (d: Buffer) => (body += d.toString()));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    req.on('socket', (socket) => socket.on('close', () => resolve({ status, body, error })));
    let sent = 0;
    const chunk = Buffer.alloc(MiB, 0x20);
    new Readable({
      read() {
        if (sent >= size) return this.push(null);
        const n = Math.min(MiB, size - sent);
        sent += n;
        this.push(n === MiB ? chunk : chunk.subarray(0, n));
      },
    }).pipe(req);
  });
}

describe('attack 03: body limits on the admin API and the proxy', { timeout: 180_000 }, () => {
  let target: AttackTarget;
  let group: CreatedGroup;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-03' });
    group = await createGroupWithKey(target, { group: { config: { maxRequestBodyMb: 1 } } });
  });
  afterAll(() => target?.close());

  it('a 200 MB unauthenticated login body gets 413 PAYLOAD_TOO_LARGE, and memory barely moves', async () => {
    const before = memory(target);
    const res = await upload(`${target.url}/api/auth/login`, 200 * MiB);
    const after = memory(target);
    console.log(
      `200 MB login: RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB, ` +
        `peak ${before.peak.toFixed(0)} → ${after.peak.toFixed(0)} MiB (was 158 → 719 MiB)`,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(after.peak - before.peak).toBeLessThan(64);
  });

  it('four 200 MB logins in parallel, without Content-Length (chunked): all 413, peak memory bounded', async () => {
    const before = memory(target);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => upload(`${target.url}/api/auth/login`, 200 * MiB, { chunked: true })),
    );
    const after = memory(target);
    console.log(
      `4 × 200 MB chunked logins: peak ${before.peak.toFixed(0)} → ${after.peak.toFixed(0)} MiB (was 1.6 GiB)`,
    );
    expect(results.map((r) => r.status)).toEqual([413, 413, 413, 413]);
    expect(after.peak - before.peak).toBeLessThan(128);
    expect((await fetch(`${target.url}/health`)).status).toBe(200);
  });

  it('paramOverrides nested 2,500 deep: 400 VALIDATION_FAILED, not 500', async () => {
    const deep = `${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}`;
    const raw = `{"name":"deep","channel":"openai","upstreams":[{"url":"${target.upstreamUrl}"}],"paramOverrides":${deep}}`;
    const created = await target.admin.raw('POST', '/groups', raw);
    expect(created.status).toBe(400);
    expect(created.body.error?.code).toBe('VALIDATION_FAILED');
    const patched = await target.admin.raw('PATCH', `/groups/${group.id}`, `{"paramOverrides":${deep}}`);
    expect(patched.status).toBe(400);
  });

  it('every too-large /api upload reads its 413 as a response: no EPIPE, no reset', async () => {
    const results: Upload[] = [];
    for (let i = 0; i < 20; i++)
      results.push(
        await upload(`${target.url}/api/groups`, 6 * MiB, {
          headers: { authorization: `Bearer ${target.authKey}` },
        }),
      );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(413));
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });

  it('every too-large /proxy upload reads its 413 in the channel dialect: no EPIPE, no reset', async () => {
    const results: Upload[] = [];
    for (let i = 0; i < 20; i++)
      results.push(
        await upload(`${group.endpoint}/v1/chat/completions`, 6 * MiB, {
          headers: { authorization: `Bearer ${group.proxyKey}` },
        }),
      );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(413));
    expect(results.filter((r) => r.error !== null)).toEqual([]);
    const answer = JSON.parse(results[0]?.body ?? '') as { error: { message: string } };
    expect(answer.error.message).toContain('exceeds 1 MiB');
    // The key was never charged for the client's oversize body.
    const stats = (await target.admin.get(`/groups/${group.id}`)).body['keyStats'];
    expect(stats).toMatchObject({ active: 1, invalid: 0 });
  });
});
