import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Decides whether a connection to `address:port` (an IP address) may be opened: null when it may, else the error
 * the connection fails with (the egress policy's `EgressRefusedError`, whose `code` tells callers that no byte was
 * sent and that the configuration, not the key, is at fault).
 */
export type EgressJudge = (address: string, port: number) => Error | null;

/** The part of undici's connect options used here. */
export interface ConnectTarget {
  hostname: string;
  port?: string | number | null;
  protocol?: string;
}

/** A connect function as undici's `buildConnector` returns it. */
export type ConnectFunction<O extends ConnectTarget, C> = (options: O, callback: C) => unknown;

/** DNS resolution with node's signature (`dns.lookup`); tests inject their own to play a rebinding name. */
export type Resolve = typeof dnsLookup;

/** Every address of this machine's network interfaces. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

/**
 * A `lookup` for `net.connect`/`tls.connect` that resolves as usual, then drops every address `judge` refuses;
 * when none is left the connection fails with the judge's error before a socket is opened. Checking what the name
 * resolves to at connect time, not when the URL was written, is what defeats DNS rebinding.
 */
export function egressLookup(judge: EgressJudge, port: number, resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses: LookupAddress[] | string) => {
      if (err) return callback(err, '', 0);
      const list =
        typeof addresses === 'string' ? [{ address: addresses, family: isIP(addresses) }] : addresses;
      let refused: Error | null = null;
      const allowed = list.filter((a) => {
        const e = judge(a.address, port);
        refused ??= e;
        return e === null;
      });
      const first = allowed[0];
      if (!first) return callback(refused ?? new Error(`${hostname} did not resolve`), '', 0);
      if (options.all) return callback(null, allowed);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Wraps an undici connector built with {@link egressLookup} so that IP-address hosts (which never go through a
 * lookup) are judged too. `port` is the origin's port (the pool is per origin).
 */
export function guardConnector<O extends ConnectTarget, C>(
  connect: ConnectFunction<O, C>,
  judge: EgressJudge,
  port: number,
): ConnectFunction<O, C> {
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refused = judge(host, port);
      if (refused) {
        (callback as unknown as (err: Error, socket: null) => void)(refused, null);
        return null;
      }
    }
    return connect(options, callback);
  };
}

/**
 * Builds an egress-guarded connector for one origin: `build` is undici's `buildConnector`, given the connect
 * timeout and the judging lookup.
 */
export function egressConnector<O extends ConnectTarget, C>(
  build: (options: { timeout: number; lookup: LookupFunction }) => ConnectFunction<O, C>,
  origin: URL,
  options: { timeoutMs: number; judge: EgressJudge; resolve?: Resolve },
): ConnectFunction<O, C> {
  const port = origin.port !== '' ? Number(origin.port) : origin.protocol === 'https:' ? 443 : 80;
  const lookup = egressLookup(options.judge, port, options.resolve);
  return guardConnector(build({ timeout: options.timeoutMs, lookup }), options.judge, port);
}
