import { BlockList, isIP } from 'node:net';

/**
 * Builds the "is this peer a trusted reverse proxy" test from IPs and CIDRs (TRUSTED_PROXIES). Only such peers
 * may tell the client's address, scheme or host through X-Forwarded-* headers: anyone else could spoof them.
 */
export function trustedProxyMatcher(entries: readonly string[]): (address: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [ip, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return (address) => {
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    const type = isIP(plain) === 6 ? 'ipv6' : isIP(plain) === 4 ? 'ipv4' : null;
    return type !== null && list.check(plain, type);
  };
}

/**
 * The client address of a request: the peer itself, unless the peer is a trusted proxy — then the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries further left were written by the client and
 * could be anything). An untrusted peer's X-Forwarded-For is never read, so it cannot choose its own address.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | readonly string[] | undefined,
  isTrustedProxy: ((address: string) => boolean) | undefined,
): string {
  if (!isTrustedProxy?.(peer)) return peer;
  return clientFromForwarded(forwardedFor, isTrustedProxy) || peer;
}

/**
 * The client address from X-Forwarded-For sent by a trusted proxy: the right-most entry that is not itself a
 * trusted proxy; the left-most one when every hop is trusted; '' when the header is absent or empty.
 */
export function clientFromForwarded(
  header: string | readonly string[] | undefined,
  isTrustedProxy: (address: string) => boolean,
): string {
  const entries = (typeof header === 'string' ? header : (header ?? []).join(','))
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] as string;
    if (!isTrustedProxy(entry)) return entry;
  }
  return entries[0] ?? '';
}
