/**
 * Child process: where the `standalone-traced` target exports its spans — an OTLP/HTTP endpoint that reads each
 * batch and answers 200, counting what it received (GET /stats). A process apart, so its CPU is not the
 * gateway's. Prints `READY {"url"}`.
 */
import { createServer } from 'node:http';
import { exitWithParent } from './orphan-guard';

let batches = 0;
let bytes = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ batches, bytes }));
    return;
  }
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    batches++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
exitWithParent();
