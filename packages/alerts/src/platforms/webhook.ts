import { createHmac } from 'node:crypto';
import type { AlertFormatter } from '../types';
import { httpRejection } from '../text';

/** `sha256=<hex HMAC-SHA256(secret, raw body)>`: the value of `x-keyway-signature` (API.md "Alerts"). */
export function keywaySignature(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`;
}

/**
 * The generic webhook: Keyway's own JSON payload (API.md "Alerts"), signed like GitHub's webhooks
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries): the receiver recomputes the
 * HMAC over the raw body it received and compares in constant time.
 */
export const webhookFormatter: AlertFormatter = {
  request(target, payload) {
    const body = JSON.stringify(payload);
    return {
      url: target.url,
      headers: {
        'content-type': 'application/json',
        ...(target.secret ? { 'x-keyway-signature': keywaySignature(target.secret, body) } : {}),
      },
      body,
    };
  },
  rejection: (statusCode) => httpRejection(statusCode),
};
