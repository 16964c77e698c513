import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 hex of a proxy key: proxy keys are stored and compared only in this form. */
export function hashProxyKey(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Keyed hash of an upstream key for de-duplication and search (plain SHA-256 when no pepper is configured). */
export function hashUpstreamKey(value: string, pepper?: Buffer): string {
  return pepper
    ? createHmac('sha256', pepper).update(value).digest('hex')
    : createHash('sha256').update(value).digest('hex');
}

/** Constant-time string comparison (for AUTH_KEY and tokens). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
