import { freePort, randomPrefix, requireService, startProcess, type ManagedProcess } from '@keyway/testing';
import { existsSync } from 'node:fs';
import { connect, JSONCodec, StringCodec, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogPort } from '@keyway/core';
import { busContract } from './contract';
import { NatsBus } from './nats-bus';
import type { BusStatus } from './port';
import { subjectName } from './subjects';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const hasNats = await requireService('nats', url);
const prefix = randomPrefix('bus');
const natsServerBinary = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const hasNatsServerBinary = existsSync(natsServerBinary);
if (!hasNatsServerBinary) {
  if (process.env.CI) throw new Error(`nats-server is required in CI but ${natsServerBinary} does not exist`);
  console.warn(
    `\n!! SKIPPING the NATS reconnect test: no nats-server at ${natsServerBinary} (set NATS_SERVER_BIN)\n`,
  );
}
const json = JSONCodec<unknown>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Collects log calls so tests can check what the bus reported. */
function recordingLogger(): LogPort & { messages: string[] } {
  const messages: string[] = [];
  const push = (_obj: object, msg: string): void => void messages.push(msg);
  return { messages, info: push, warn: push, error: push };
}

describe.skipIf(!hasNats)('NatsBus against the shared server', () => {
  let raw: NatsConnection;
  beforeAll(async () => {
    raw = await connect({ servers: url, name: 'bus-test-raw' });
  });
  afterAll(async () => {
    await raw?.drain();
  });

  busContract('NatsBus', (busPrefix) => NatsBus.connect({ url, prefix: busPrefix, name: 'bus-contract' }), {
    prefix,
    publishRaw: async (wireSubject, data) => {
      raw.publish(wireSubject, json.encode(data));
      await raw.flush();
    },
  });

  it('drops and counts a message that is not JSON', async () => {
    const bus = await NatsBus.connect({ url, prefix: `${prefix}_bytes` });
    const seen: unknown[] = [];
    bus.subscribe('config.changed', (p) => void seen.push(p));
    await bus.flush();
    raw.publish(subjectName(`${prefix}_bytes`, 'config.changed'), StringCodec().encode('{not json'));
    await raw.flush();
    await bus.publish('config.changed', { version: 5 });
    await until(() => seen.length === 1, 'the valid message');
    expect(seen).toEqual([{ version: 5 }]);
    expect(bus.stats().malformed).toBe(1);
    await bus.close();
  });

  it('puts the prefix in front of the subject on the wire', async () => {
    const wire: unknown[] = [];
    const sub = raw.subscribe(`${prefix}_wire.>`, {
      callback: (_err, msg) => void wire.push([msg.subject, json.decode(msg.data)]),
    });
    await raw.flush();
    const bus = await NatsBus.connect({ url, prefix: `${prefix}_wire` });
    await bus.publish('keys.changed', { groupId: 2, version: 4 });
    await until(() => wire.length === 1, 'the raw subscriber');
    expect(wire).toEqual([[`${prefix}_wire.keys.changed`, { groupId: 2, version: 4 }]]);
    sub.unsubscribe();
    await bus.close();
  });
});

// A private server, so killing it cannot disturb anything else using the shared one.
describe.skipIf(!hasNatsServerBinary)('NatsBus reconnecting to a restarted private server', () => {
  const buses: NatsBus[] = [];
  let server: ManagedProcess | undefined;
  let port = 0;

  const startServer = async (): Promise<ManagedProcess> =>
    startProcess({
      command: natsServerBinary,
      args: ['-a', '127.0.0.1', '-p', String(port)],
      readyLine: /Server is ready/,
      timeoutMs: 10_000,
    });

  beforeAll(async () => {
    port = await freePort();
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await server?.stop('SIGTERM', 2000);
  });

  it('reports the outage and delivers messages published after the server came back', async () => {
    const privateUrl = `nats://127.0.0.1:${port}`;
    const logger = recordingLogger();
    const options = { url: privateUrl, prefix, reconnectTimeWaitMs: 100, logger };
    const publisher = await NatsBus.connect({ ...options, name: 'bus-reconnect-pub' });
    const subscriber = await NatsBus.connect({ ...options, name: 'bus-reconnect-sub' });
    buses.push(publisher, subscriber);
    const statuses: BusStatus[] = [];
    subscriber.onStatus((s) => statuses.push(s));
    const seen: unknown[] = [];
    subscriber.subscribe('config.changed', (p) => void seen.push(p));
    await subscriber.flush();

    await server?.stop('SIGKILL', 1000);
    await until(() => statuses.some((s) => !s.connected), 'a disconnected status');
    server = await startServer();
    await until(() => statuses.at(-1)?.connected === true, 'a connected status after the restart');
    // The publisher reconnects on its own schedule; wait for it before relying on its messages arriving.
    await publisher.flush();
    await subscriber.flush();

    await publisher.publish('config.changed', { version: 7 });
    await until(() => seen.length === 1, 'delivery after the restart');
    expect(seen).toEqual([{ version: 7 }]);
    expect(statuses.map((s) => s.connected)).toEqual([true, false, true]);
    expect(statuses[1]?.reason).toMatch(/disconnected/);
    expect(logger.messages).toContain('bus: disconnected from NATS, reconnecting');
    expect(logger.messages).toContain('bus: reconnected to NATS');
  });

  it('buffers publishes made while disconnected, keeping the newest, and sends them after reconnecting', async () => {
    const bus = await NatsBus.connect({
      url: `nats://127.0.0.1:${port}`,
      prefix,
      reconnectTimeWaitMs: 100,
      maxBuffered: 2,
    });
    buses.push(bus);
    const statuses: boolean[] = [];
    bus.onStatus((s) => statuses.push(s.connected));
    const seen: number[] = [];
    bus.subscribe('keys.changed', (p) => void seen.push(p.version));
    await bus.flush();

    await server?.stop('SIGKILL', 1000);
    await until(() => statuses.at(-1) === false, 'a disconnected status');
    for (const version of [10, 11, 12]) await bus.publish('keys.changed', { groupId: 1, version });
    // Let a few reconnect attempts fail first: each one resets the client's own outbound buffer.
    await sleep(350);
    expect(seen).toEqual([]);
    server = await startServer();
    await until(() => seen.length === 2, 'the buffered messages after reconnecting');
    await bus.publish('keys.changed', { groupId: 1, version: 13 });
    await until(() => seen.length === 3, 'a message published after reconnecting');
    expect(seen).toEqual([11, 12, 13]);
    expect(bus.stats().unsent).toBe(1);
  });
});
