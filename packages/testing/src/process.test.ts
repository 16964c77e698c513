import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, startProcess, stopAllProcesses } from './process';

const server = `
const http = require('node:http');
const port = Number(process.env.PORT);
http.createServer((req, res) => res.end('ok')).listen(port, '127.0.0.1', () => {
  console.log('listening on ' + port);
  console.error('greeting=' + process.env.GREETING);
});
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
`;

const idle = (lines: string): string[] => ['-e', `${lines}; setInterval(() => {}, 1000);`];

describe('startProcess', () => {
  it('waits for readyUrl, collects output, and stops gracefully', async () => {
    const port = await freePort();
    const proc = await startProcess({
      command: process.execPath,
      args: ['-e', server],
      env: { PORT: String(port), GREETING: 'hi' },
      readyUrl: `http://127.0.0.1:${port}/health`,
      timeoutMs: 5000,
    });
    expect(proc.url).toBe(`http://127.0.0.1:${port}`);
    expect((await proc.waitForLine(/listening on (\d+)/))[1]).toBe(String(port));
    await proc.waitForLine(/greeting=hi/);
    expect(proc.stdout).toContain('listening on');
    expect(proc.stderr).toContain('greeting=hi');
    expect(await proc.stop()).toBe(0);
    expect(proc.stdout).toContain('bye');
    expect(proc.lines).toContain('bye');
  });

  it('waits for readyLine; stop() of a process without a handler reports the signal as null', async () => {
    const proc = await startProcess({
      command: process.execPath,
      args: idle(`setTimeout(() => console.log('ready!'), 50)`),
      readyLine: /^ready!$/,
      timeoutMs: 5000,
    });
    expect(proc.child.exitCode).toBeNull();
    expect(await proc.stop()).toBeNull();
    expect(proc.child.signalCode).toBe('SIGTERM');
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    await expect(
      startProcess({
        command: process.execPath,
        args: ['-e', `console.log('boom'); process.exit(3)`],
        readyLine: /never/,
        timeoutMs: 5000,
      }),
    ).rejects.toThrow(/exited with code 3[\s\S]*boom/);
  });

  it('rejects (and kills the child) when not ready in time', async () => {
    const started = performance.now();
    await expect(
      startProcess({
        command: process.execPath,
        args: idle(`console.log('up')`),
        readyLine: /never/,
        timeoutMs: 300,
      }),
    ).rejects.toThrow(/not ready within 300 ms[\s\S]*up/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('rejects when the command does not exist', async () => {
    await expect(
      startProcess({ command: '/nonexistent/keyway-binary', readyLine: /x/, timeoutMs: 2000 }),
    ).rejects.toThrow(/ENOENT/);
  });

  it('waitForLine times out with the output so far', async () => {
    const proc = await startProcess({
      command: process.execPath,
      args: idle(`console.log('one')`),
      readyLine: /one/,
    });
    await expect(proc.waitForLine(/two/, 100)).rejects.toThrow(/no output line matched \/two\/[\s\S]*one/);
    await stopAllProcesses();
    expect(await proc.exited).toBeNull();
  });
});

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
});
