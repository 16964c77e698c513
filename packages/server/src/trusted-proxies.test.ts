import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxyMatcher } from './trusted-proxies';

describe('clientAddress', () => {
  const trusted = trustedProxyMatcher(['10.0.0.0/8', '::1']);

  it('names the peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', trustedProxyMatcher([]))).toBe('203.0.113.9');
    expect(clientAddress('203.0.113.9', '198.51.100.1', undefined)).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', trusted)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted entry when a trusted proxy forwards', () => {
    // The client wrote "1.1.1.1" itself; the proxy appended the address it saw.
    expect(clientAddress('10.0.0.2', '1.1.1.1, 198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.2', '198.51.100.1, 10.0.0.3', trusted)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:10.0.0.2', ['1.1.1.1', '198.51.100.1'], trusted)).toBe('198.51.100.1');
  });

  it('falls back to the peer when a trusted proxy sends no X-Forwarded-For', () => {
    expect(clientAddress('10.0.0.2', undefined, trusted)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', ' , ', trusted)).toBe('10.0.0.2');
  });

  it('takes the left-most entry when every hop is a trusted proxy', () => {
    expect(clientAddress('10.0.0.2', '10.0.0.5, 10.0.0.3', trusted)).toBe('10.0.0.5');
  });
});
