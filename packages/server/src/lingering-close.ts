import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bounds of {@link lingeringClose}: whichever is reached first ends the wait. */
export interface LingerOptions {
  /** How long to keep discarding after the response is flushed (default 2 s, like a short nginx lingering_time). */
  maxMs?: number;
  /** How many more body bytes to discard (default 16 MiB). */
  maxBytes?: number;
}

const LINGER_MS = 2000;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Answers while the request body is still arriving without resetting the connection — "lingering close", as
 * nginx and Go's net/http do. The response goes out with `Connection: close`; once it is flushed, Node half-closes
 * the socket and this keeps reading and discarding what the client still sends (nothing is buffered) until the
 * body ends or `maxMs` / `maxBytes` run out, then closes. Closing at once leaves unread bytes in the kernel's
 * buffer, the peer gets an RST and HTTP clients report EPIPE/ECONNRESET instead of the answer; SDKs then retry,
 * uploading the body again. Call it before the response is written.
 */
export function lingeringClose(req: IncomingMessage, res: ServerResponse, options: LingerOptions = {}): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  if (req.readableEnded) return;
  const maxMs = options.maxMs ?? LINGER_MS;
  const maxBytes = options.maxBytes ?? LINGER_BYTES;
  const socket = req.socket;
  let started = false;
  // Node calls destroySoon() on the socket once a `Connection: close` response is flushed; destroying it right
  // away is what resets the client, so the socket's own copy is replaced for this connection only.
  socket.destroySoon = () => {
    if (started) return;
    started = true;
    socket.end();
    let discarded = 0;
    const stop = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    // The client sent everything: close once our side is flushed (no unread bytes, so a clean FIN).
    const done = () => (socket.writableFinished ? stop() : socket.once('finish', stop));
    const timer = setTimeout(stop, maxMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    // Another reader (the web-stream adapter of a body that was partly read) would buffer what is discarded here.
    req.removeAllListeners('data');
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > maxBytes) stop();
    });
    if (req.readableEnded) done();
    else req.once('end', done);
    req.resume();
  };
}
