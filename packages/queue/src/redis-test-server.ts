// Test support: a throw-away redis-server to take down and bring back (not exported by the package).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** The redis-server binary the outage tests start (`REDIS_SERVER_BIN`, default `/usr/bin/redis-server`). */
export const redisServerBinary = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

/** Whether {@link redisServerBinary} exists. */
export const hasRedisServerBinary = existsSync(redisServerBinary);

/** A local TCP port nothing listens on (just freed by the OS). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/** A redis-server without persistence on `port`; resolves once it accepts connections. */
export async function startRedisServer(port: number): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    redisServerBinary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code}`)));
  });
  return {
    // SIGKILL: the server vanishes as in a crash, without closing connections politely.
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
