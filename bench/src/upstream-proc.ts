/**
 * Child process: the fake upstream from @keyway/testing on its own event loop, plus a tiny control server
 * (GET /stats, POST /reset) so the benchmark can check that requests really reached the upstream.
 * Prints `READY {"url":…,"control":…}` once both listen. Env: STREAM_DELAY_MS, STREAM_CHUNKS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeUpstream } from '@keyway/testing';
import { exitWithParent } from './orphan-guard';

const delay = Number(process.env.STREAM_DELAY_MS ?? 2);
const chunkCount = Number(process.env.STREAM_CHUNKS ?? 8);
const responseChunks = Array.from({ length: chunkCount }, (_, i) => (i === 0 ? 'Hello' : ` word${i}`));

const fake = await startFakeUpstream({ streamChunkDelayMs: delay, responseChunks });

// The fake records every request; drain that list often so a long load run does not grow the heap.
const stats = { total: 0, aborted: 0, keys: new Map<string, number>(), paths: new Map<string, number>() };
const drain = (): void => {
  stats.total += fake.requests.length;
  stats.aborted += fake.aborted;
  for (const r of fake.requests) {
    const key = r.key ?? '(none)';
    stats.keys.set(key, (stats.keys.get(key) ?? 0) + 1);
    stats.paths.set(r.path, (stats.paths.get(r.path) ?? 0) + 1);
  }
  fake.reset();
};
setInterval(drain, 200).unref();

const control = createServer((req, res) => {
  drain();
  if (req.method === 'POST' && req.url === '/reset') {
    stats.total = 0;
    stats.aborted = 0;
    stats.keys.clear();
    stats.paths.clear();
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      total: stats.total,
      aborted: stats.aborted,
      keys: Object.fromEntries(stats.keys),
      paths: Object.fromEntries(stats.paths),
    }),
  );
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

const shutdown = (): void => {
  control.close();
  void fake.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
exitWithParent();

process.stdout.write(`READY ${JSON.stringify({ url: fake.url, control: controlUrl })}\n`);
