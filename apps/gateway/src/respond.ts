import type { ServerResponse } from 'node:http';
import type { Provider } from '@keyway/providers';

/** Sends a gateway-made error in the channel's dialect (so SDKs raise their usual errors). */
export function sendDialectError(
  res: ServerResponse,
  provider: Pick<Provider, 'renderError'>,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = provider.renderError(status, code, message);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}
