/**
 * The egress policy: where the gateway and the worker may send requests carrying upstream keys. Pure (no DNS, no
 * sockets) so that the same rules judge an upstream URL when it is written and each address a name resolves to
 * when a connection is opened (DNS rebinding).
 */

/** `code` of the error a connection refused by the egress policy fails with: the configuration's fault, never the key's. */
export const EGRESS_REFUSED_CODE = 'KW_EGRESS_REFUSED';

/** A connection the egress policy refused; no byte was sent. */
export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED_CODE;

  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

/** What an address is, as far as the egress policy cares. */
export type AddressKind =
  'public' | 'private' | 'loopback' | 'unspecified' | 'link-local' | 'metadata' | 'non-unicast';

/** Where requests may go. */
export interface EgressPolicy {
  /** Refuse loopback and private ranges too (the `egressBlockPrivate` setting). */
  blockPrivate: boolean;
  /**
   * Where this process listens: an upstream there would send every request (with its key) back into it. `port` is
   * the listen port; `addresses` the machine's own interface addresses (loopback forms always count);
   * `origins` other URLs that reach it (`appUrl`).
   */
  self?: { port?: number; addresses?: readonly string[]; origins?: readonly string[] };
}

/** Names that resolve to a cloud provider's instance metadata service (credentials for the machine). */
const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * Single addresses of metadata services outside 169.254.0.0/16: AWS over IPv6, Alibaba Cloud, Azure's WireServer.
 * 169.254.169.254 (AWS, GCP, Azure, OpenStack…) is link-local and refused with its whole range.
 */
const METADATA_V4 = ['100.100.100.200', '168.63.129.16'];
const METADATA_V6 = ['fd00:ec2::254'];

const ALWAYS_REFUSED: ReadonlySet<AddressKind> = new Set(['link-local', 'metadata', 'non-unicast']);
const PRIVATE_KINDS: ReadonlySet<AddressKind> = new Set(['private', 'loopback', 'unspecified']);

/** Parses a dotted-quad IPv4 address (the canonical form DNS answers and WHATWG URLs give); null otherwise. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** Parses an IPv6 address (`::`, embedded IPv4, `[…]` and a `%zone` allowed) into 16 bytes; null otherwise. */
export function parseIPv6(text: string): number[] | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  if (!head || !rest) return null;
  const given = head.length + rest.length + tail.length;
  let words: number[];
  if (halves.length === 2) {
    if (given > 7) return null;
    words = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  } else {
    if (given !== 8) return null;
    words = [...head, ...tail];
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function inV4(b: readonly number[], net: readonly number[], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if (((b[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(b: readonly number[]): AddressKind {
  const ip = b.join('.');
  if (METADATA_V4.includes(ip)) return 'metadata';
  if (ip === '169.254.169.254' || ip === '169.254.170.2') return 'metadata';
  if (inV4(b, [0, 0, 0, 0], 8)) return 'unspecified';
  if (inV4(b, [127, 0, 0, 0], 8)) return 'loopback';
  if (inV4(b, [169, 254, 0, 0], 16)) return 'link-local';
  if (inV4(b, [224, 0, 0, 0], 4) || inV4(b, [240, 0, 0, 0], 4)) return 'non-unicast';
  const privateNets: Array<[number[], number]> = [
    [[10, 0, 0, 0], 8],
    [[172, 16, 0, 0], 12],
    [[192, 168, 0, 0], 16],
    [[100, 64, 0, 0], 10], // carrier-grade NAT, also used inside clusters
    [[192, 0, 0, 0], 24], // IETF protocol assignments
    [[198, 18, 0, 0], 15], // benchmarking networks
  ];
  return privateNets.some(([net, bits]) => inV4(b, net, bits)) ? 'private' : 'public';
}

function classifyV6(b: readonly number[]): AddressKind {
  const word = (i: number) => ((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0);
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4At = (i: number) => b.slice(i, i + 4);
  // IPv4 carried in IPv6: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), compatible (::a.b.c.d),
  // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). Each reaches the IPv4 address it carries.
  if (zeros(0, 10) && word(5) === 0xffff) return classifyV4(v4At(12));
  if (zeros(0, 8) && word(4) === 0xffff && word(5) === 0) return classifyV4(v4At(12));
  if (word(0) === 0x64 && word(1) === 0xff9b && zeros(4, 12)) return classifyV4(v4At(12));
  if (word(0) === 0x2002) return classifyV4(v4At(2));
  if (zeros(0, 15)) {
    if (b[15] === 0) return 'unspecified';
    if (b[15] === 1) return 'loopback';
  }
  if (zeros(0, 12)) return classifyV4(v4At(12));
  const canonical = words(b);
  if (METADATA_V6.some((m) => words(parseIPv6(m) ?? []) === canonical)) return 'metadata';
  const first = word(0);
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xff00) === 0xff00) return 'non-unicast';
  if ((first & 0xfe00) === 0xfc00) return 'private'; // unique local
  if ((first & 0xffc0) === 0xfec0) return 'private'; // site-local (deprecated)
  return 'public';
}

function words(b: readonly number[]): string {
  return b.join(',');
}

/** The kind of an IP address literal (IPv4 dotted quad or IPv6, brackets allowed); null when `host` is a name. */
export function classifyAddress(host: string): AddressKind | null {
  const v4 = parseIPv4(host);
  if (v4) return classifyV4(v4);
  const v6 = parseIPv6(host);
  return v6 ? classifyV6(v6) : null;
}

const KIND_TEXT: Record<AddressKind, string> = {
  public: 'a public address',
  private: 'a private network address',
  loopback: 'a loopback address (this machine)',
  unspecified: 'an unspecified address (this machine)',
  'link-local': 'a link-local address (where cloud metadata services live)',
  metadata: 'a cloud metadata service address',
  'non-unicast': 'a multicast or reserved address',
};

/** Why the policy refuses an address of this kind, or null when it is allowed. */
export function refusalOfKind(kind: AddressKind, policy: EgressPolicy): string | null {
  if (ALWAYS_REFUSED.has(kind)) return `is ${KIND_TEXT[kind]}; upstreams there are never allowed`;
  if (policy.blockPrivate && PRIVATE_KINDS.has(kind))
    return `is ${KIND_TEXT[kind]}; refused because egressBlockPrivate is on`;
  return null;
}

/** Lower-case, without brackets and trailing dots: how names and addresses are compared. */
function normaliseHost(host: string): string {
  const h = host.toLowerCase().replace(/\.+$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function isLocalName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Whether `address` (an IP literal) is this machine: loopback, unspecified, or one of its own addresses. */
function isOwnAddress(address: string, policy: EgressPolicy): boolean {
  const kind = classifyAddress(address);
  if (kind === 'loopback' || kind === 'unspecified') return true;
  const own = policy.self?.addresses ?? [];
  const bytes = parseIPv4(address) ?? parseIPv6(address);
  return bytes !== null && own.some((a) => words(parseIPv4(a) ?? parseIPv6(a) ?? []) === words(bytes));
}

/**
 * Judges one address a connection is about to be opened to (after DNS): null when allowed, else why not (the
 * address is named; it is not a secret).
 */
export function checkConnectAddress(address: string, port: number, policy: EgressPolicy): string | null {
  const host = normaliseHost(address);
  const kind = classifyAddress(host);
  if (kind === null) return `${address} is not an IP address`;
  const refusal = refusalOfKind(kind, policy);
  if (refusal) return `${host} ${refusal}`;
  if (policy.self?.port !== undefined && port === policy.self.port && isOwnAddress(host, policy))
    return `${host}:${port} is this gateway itself; requests would loop back into it`;
  return null;
}

/** The port a URL connects to (its own, else the scheme's default). */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Judges an upstream URL as written (the syntax is checked by the contracts schema): the host as an address or a
 * well-known name, and whether it points at this gateway. Names are resolved and judged again when connecting.
 * Returns null when allowed, else why not.
 */
export function checkUpstreamUrl(raw: string, policy: EgressPolicy): string | null {
  let url: URL;
  try {
    // The WHATWG parser turns every spelling of an IPv4 address (2852039166, 0251.0376.0251.0376, 0xa9fea9fe)
    // into its dotted form, as it does when the gateway connects, so the classification sees the real address.
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  const host = normaliseHost(url.hostname);
  const port = urlPort(url);
  const kind = classifyAddress(host);
  if (kind !== null) {
    const refusal = refusalOfKind(kind, policy);
    if (refusal) return `${host} ${refusal}`;
  } else if (METADATA_NAMES.has(host)) {
    return `${host} is a cloud metadata service; upstreams there are never allowed`;
  } else if (policy.blockPrivate && isLocalName(host)) {
    return `${host} is this machine; refused because egressBlockPrivate is on`;
  }
  const self = policy.self;
  if (self) {
    const local = kind === null ? isLocalName(host) : isOwnAddress(host, policy);
    if (local && self.port !== undefined && port === self.port)
      return `points at this gateway itself (port ${port}); requests would loop back into it`;
    if (self.origins?.some((o) => sameOrigin(o, url)))
      return 'points at this gateway itself (appUrl); requests would loop back into it';
  }
  return null;
}

function sameOrigin(a: string, b: URL): boolean {
  try {
    return new URL(a).origin === b.origin;
  } catch {
    return false;
  }
}

/**
 * The connect-time judge the gateway's and the worker's connectors use: null when a connection to `address:port`
 * may open, else the error it fails with. `ownAddresses` (the machine's interface addresses) is read for each
 * connection, as interfaces come and go.
 */
export function egressJudge(
  policy: EgressPolicy,
  ownAddresses: () => readonly string[] = () => [],
): (address: string, port: number) => EgressRefusedError | null {
  return (address, port) => {
    const self = policy.self ? { ...policy.self, addresses: ownAddresses() } : undefined;
    const why = checkConnectAddress(address, port, { ...policy, ...(self ? { self } : {}) });
    return why ? new EgressRefusedError(`egress refused: ${why}`) : null;
  };
}
