/**
 * Issue 11 item 1: `POST /proxy/%6bqf7tbo/v1/chat/completions` (the group name with one character
 * percent-encoded) and absolute-form request lines were answered 502 after charging every key tried: one such
 * request every 5 s kept a 10-key group's storm guard open (99 of 99 legitimate calls failed), and in a one-key group
 * the key went `invalid`.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, randomSecret, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

/** The group name with its first character percent-encoded, as in the report. */
function encodedFirst(name: string): string {
  return `%${name.charCodeAt(0).toString(16)}${name.slice(1)}`;
}

/** One request written byte for byte (an HTTP client would normalise the target). */
function rawPost(target: AttackTarget, requestTarget: string, proxyKey: string): Promise<number> {
  const body = JSON.stringify({ model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'hi' }] });
  return new Promise((resolve, reject) => {
    const socket = connect(target.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.write(
      `POST ${requestTarget} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\nauthorization: Bearer ${proxyKey}\r\n` +
        `content-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

async function keyStates(target: AttackTarget, groupId: number): Promise<Record<string, number>> {
  const res = await target.admin.get(`/groups/${groupId}`);
  return res.body['keyStats'] as Record<string, number>;
}

describe('attack 01: non-canonical request targets', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let ten: CreatedGroup;
  let one: CreatedGroup;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-01' });
    ten = await createGroupWithKey(target, { name: 'kqf7tbo' });
    const more = Array.from({ length: 9 }, () => randomSecret('sk-', 48));
    expect((await target.admin.post(`/groups/${ten.id}/keys`, { keys: more })).status).toBe(200);
    one = await createGroupWithKey(target, { name: 'solo' });
  });
  afterAll(() => target?.close());

  it('a percent-encoded group name every few calls in a 10-key group: no key charged, no storm, 99 of 99 legit calls succeed', async () => {
    const encoded = { ...ten, endpoint: `${target.url}/proxy/${encodedFirst(ten.name)}` };
    const legit: number[] = [];
    for (let i = 0; i < 99; i++) {
      if (i % 3 === 0) expect((await chat(encoded)).status).toBe(200);
      legit.push((await chat(ten)).status);
    }
    expect(legit.filter((s) => s === 200)).toHaveLength(99);
    expect(await keyStates(target, ten.id)).toMatchObject({ total: 10, active: 10, invalid: 0 });
    const paths = new Set(target.fake?.requests.map((r) => r.path));
    expect([...paths]).toEqual(['/v1/chat/completions']);
  });

  it('in a one-key group the key stays active whatever the target: encoded name, absolute-form, dot segments', async () => {
    const encoded = `/proxy/${encodedFirst(one.name)}/v1/chat/completions`;
    for (let i = 0; i < 5; i++) {
      expect(await rawPost(target, encoded, one.proxyKey)).toBe(200);
      // Absolute-form naming this gateway is served; naming another host is refused, never forwarded.
      expect(await rawPost(target, `http://127.0.0.1:${target.port}${encoded}`, one.proxyKey)).toBe(200);
      expect(await rawPost(target, `http://upstream.example${encoded}`, one.proxyKey)).toBe(400);
      expect(await rawPost(target, `/proxy/${one.name}/v1/%2e%2e/v1/chat/completions`, one.proxyKey)).toBe(
        400,
      );
      expect(await rawPost(target, `/proxy/${one.name}/v1/chat/completions%00`, one.proxyKey)).toBe(400);
    }
    expect(await keyStates(target, one.id)).toMatchObject({ total: 1, active: 1, invalid: 0 });
    expect((await chat(one)).status).toBe(200);
  });
});
