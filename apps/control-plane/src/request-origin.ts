import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/** The node-server request behind a context, when there is one (tests call `app.request()` without it). */
function incomingOf(c: Context): HttpBindings['incoming'] | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming;
}

/** The address of the peer that opened the connection (a reverse proxy when there is one). */
export function peerAddress(c: Context): string {
  return incomingOf(c)?.socket.remoteAddress ?? '';
}

/**
 * Whether the client reached Keyway over HTTPS: a TLS socket, or `X-Forwarded-Proto: https` sent by a trusted
 * proxy (anyone else could claim it). The left-most value counts, as in Express: the first proxy's view.
 */
export function isHttpsRequest(c: Context, isTrustedProxy?: (address: string) => boolean): boolean {
  const socket = incomingOf(c)?.socket as { encrypted?: boolean } | undefined;
  if (socket?.encrypted === true) return true;
  if (!isTrustedProxy?.(peerAddress(c))) return false;
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https';
}
