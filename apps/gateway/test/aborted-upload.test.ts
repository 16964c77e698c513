import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_KEY, eventually, sleep, startEchoUpstream, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-aborted-upload-0001-abcdefgh';

describe('aborted uploads (issue 11 item 5)', { timeout: 20_000 }, () => {
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    gw = await startGateway({ groups: [{ name: 'up', upstreams: [echo.url], keys: [KEY] }] });
  });
  afterAll(async () => {
    await gw.close();
    await echo.close();
  });

  it('a body broken off mid-upload is not forwarded: logged 499 with no attempt, the key untouched', async () => {
    const { port, hostname } = new URL(gw.url);
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /proxy/up/v1/files HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${PROXY_KEY}\r\n` +
          'content-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n' +
          'x'.repeat(1000),
      );
      await sleep(50);
      socket.destroy();
    }
    await eventually(() => gw.records.length >= 3, 5000, 'three records');
    await sleep(200);
    expect(echo.requests).toHaveLength(0);
    expect(gw.records.map((r) => r.statusCode)).toEqual([499, 499, 499]);
    expect(gw.records.every((r) => r.attempts.length === 0 && r.keyId === null)).toBe(true);
    expect(gw.health(KEY)).toMatchObject({ status: 'active', failureCount: 0 });
  });
});
