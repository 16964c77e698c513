// Test-only: fast-check arbitraries that turn a valid JSON body into a hostile one — fields dropped, added,
// duplicated or replaced by odd values (huge, NUL, CR/LF, lone surrogates, 1e309, -0, deep nesting, arrays
// where objects belong) — and raw-text damage JSON.stringify could never produce.
import fc from 'fast-check';

/** JSON text emitted verbatim: tokens JSON.stringify cannot produce (`1e309`, `-0`, deep nesting). */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object with repeated keys (`{"a":1,"a":2}`), which JSON.parse resolves to the last one. */
export class Entries {
  constructor(readonly entries: ReadonlyArray<readonly [string, Fuzzed]>) {}
}

export type Fuzzed = null | boolean | number | string | Raw | Entries | Fuzzed[] | { [key: string]: Fuzzed };

/** Serialises a fuzzed value; `Raw` and `Entries` are written as they are. */
export function toJsonText(v: Fuzzed): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Entries)
    return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const oddStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  'a\r\nb',
  '\r\nX-Injected: 1',
  '\t',
  '\u2028\u2029',
  '\ufeff',
  '\ud800',
  'x\udfffy',
  '\u202e',
  '🔑🔑',
  'İıß',
  '%00',
  '%',
  '%zz',
  '../../etc/passwd',
  '${API_KEY}',
  '${',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  'null',
  'true',
  '__proto__',
  'constructor',
  'http://169.254.169.254/',
  'http://user:pass@example.com',
  'javascript:alert(1)',
  '2026-13-45T99:99:99Z',
];

/** Strings an input validator should refuse or store faithfully, never crash on. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...oddStrings), weight: 4 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('x', 'é', '🔑', '\u0000', 'a,b;'), fc.integer({ min: 300, max: 70_000 }))
      .map(([s, n]) => s.repeat(n)),
    weight: 1,
  },
);

/** Numbers at the edges, including tokens only raw JSON text can carry. */
export const nastyNumber: fc.Arbitrary<number | Raw> = fc.oneof(
  fc.constantFrom(0, -1, 1, 0.5, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc
    .constantFrom(
      '1e309',
      '-1e309',
      '-0',
      '1E400',
      '0.000000000000000000001',
      '123456789012345678901234567890',
    )
    .map((t) => new Raw(t)),
);

/** `[[[…]]]` or `{"a":{"a":…}}` nested `depth` levels. */
export const deepNesting: fc.Arbitrary<Raw> = fc
  .tuple(fc.integer({ min: 20, max: 5000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? new Raw('['.repeat(depth) + ']'.repeat(depth))
      : new Raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  );

const keyName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'toString', '', ' ', 'a.b', 'x'),
  nastyString,
);

/** Any hostile JSON value (scalars, small containers of them, deep nesting). */
export const nastyValue: fc.Arbitrary<Fuzzed> = fc.letrec<{ value: Fuzzed }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    nastyString,
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyName, tie('value'), { maxKeys: 4 }),
    deepNesting,
  ),
})).value;

type Path = ReadonlyArray<string | number>;

/** Every path in a JSON value, the root (`[]`) included. */
function pathsOf(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]));
  return out;
}

/** One change at one place of a body. */
type Mutation =
  | { op: 'replace'; at: number; value: Fuzzed }
  | { op: 'drop'; at: number }
  | { op: 'add'; at: number; key: string; value: Fuzzed }
  | { op: 'duplicate'; at: number; value: Fuzzed }
  | { op: 'wrap'; at: number; inArray: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace'), at: fc.nat(), value: nastyValue }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('drop'), at: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ op: fc.constant('add'), at: fc.nat(), key: keyName, value: nastyValue }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant('duplicate'), at: fc.nat(), value: nastyValue }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('wrap'), at: fc.nat(), inArray: fc.boolean() }), weight: 1 },
);

/** Applies one mutation to a copy of `body` (paths are chosen among the body's own, modulo their count). */
function applyMutation(body: Fuzzed, m: Mutation): Fuzzed {
  const paths = pathsOf(body);
  const path = paths[m.at % paths.length] ?? [];
  const update = (node: Fuzzed, depth: number): Fuzzed => {
    if (depth === path.length) return change(node);
    const step = path[depth] as string | number;
    if (Array.isArray(node)) return node.map((x, i) => (i === step ? update(x, depth + 1) : x));
    if (node !== null && typeof node === 'object' && !(node instanceof Raw) && !(node instanceof Entries)) {
      const parent = node as Record<string, Fuzzed>;
      if (depth === path.length - 1 && (m.op === 'drop' || m.op === 'duplicate')) {
        const entries = Object.entries(parent).filter(([k]) => k !== step || m.op === 'duplicate');
        return m.op === 'drop'
          ? Object.fromEntries(entries)
          : new Entries([...entries, [String(step), m.value]]);
      }
      return Object.fromEntries(
        Object.entries(parent).map(([k, x]) => [k, k === step ? update(x, depth + 1) : x]),
      );
    }
    return node;
  };
  const change = (node: Fuzzed): Fuzzed => {
    switch (m.op) {
      case 'replace':
        return m.value;
      case 'wrap':
        return m.inArray ? [node] : { value: node };
      case 'add':
        return node !== null && typeof node === 'object' && !Array.isArray(node) && !(node instanceof Raw)
          ? node instanceof Entries
            ? new Entries([...node.entries, [m.key, m.value]])
            : new Entries([...Object.entries(node), [m.key, m.value]])
          : Array.isArray(node)
            ? [...node, m.value]
            : m.value;
      default:
        // 'drop' / 'duplicate' of the root: an empty body / the value twice in an array.
        return m.op === 'drop' ? null : [node, m.value];
    }
  };
  return update(body, 0);
}

/** Damage done to the serialised text (what a broken client or proxy sends). */
type TextDamage = 'none' | 'truncate' | 'bom' | 'trailing' | 'latin1-bytes' | 'empty' | 'not-json';

/** A request body: the bytes sent and a short description of how they were made (shown by fast-check). */
export interface FuzzBody {
  bytes: Uint8Array | undefined;
  how: string;
}

/**
 * Mutations of valid bodies (one of `seeds` each time): 1–3 structural changes, then maybe text damage. Half the cases keep the text
 * intact so the structural changes reach the validators rather than the JSON parser.
 */
export function mutatedBody(seeds: readonly unknown[]): fc.Arbitrary<FuzzBody> {
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.constantFrom<TextDamage>(
        'none',
        'none',
        'none',
        'none',
        'truncate',
        'bom',
        'trailing',
        'latin1-bytes',
        'empty',
        'not-json',
      ),
      fc.nat(),
    )
    .map(([seed, mutations, damage, cut]) => {
      const body = mutations.reduce<Fuzzed>((b, m) => applyMutation(b, m), (seed ?? {}) as Fuzzed);
      const text = toJsonText(body);
      const how = `${mutations.map((m) => m.op).join('+')}, damage=${damage}: ${text.slice(0, 400)}`;
      return describedBody(damaged(text, damage, cut), how);
    });
}

function damaged(text: string, damage: TextDamage, cut: number): Uint8Array | undefined {
  const enc = new TextEncoder();
  switch (damage) {
    case 'truncate':
      return enc.encode(text.slice(0, cut % Math.max(1, text.length)));
    case 'bom':
      return enc.encode(`\ufeff${text}`);
    case 'trailing':
      return enc.encode(`${text} {}`);
    case 'latin1-bytes':
      return Uint8Array.from([...enc.encode(text.slice(0, -1)), 0xff, 0xfe, 0x80, ...enc.encode('"}')]);
    case 'empty':
      return undefined;
    case 'not-json':
      return enc.encode('keys=a&b=c');
    default:
      return enc.encode(text);
  }
}

/** A body that fast-check prints as its short description rather than thousands of bytes. */
function describedBody(bytes: Uint8Array | undefined, how: string): FuzzBody {
  const body: FuzzBody & { [fc.toStringMethod]: () => string } = {
    bytes,
    how,
    [fc.toStringMethod]: () => `body(${bytes?.length ?? 0} bytes; ${how})`,
  };
  return body;
}

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as a browser would send them). */
export function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  return out;
}

/** Query-string values: the nasty strings plus encodings a URL parser may trip on. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  nastyString.map(percentEncode),
  fc.constantFrom(
    '%',
    '%zz',
    '%ff%fe',
    '%00',
    '%C0%AE',
    '+',
    '%2B',
    '1e309',
    '-0',
    '0x10',
    ' 1',
    '1.5',
    '99999999999999999999',
  ),
  fc.constantFrom('1', '50', '1000', '1001', '0', '-1', 'true', 'false', '24h', '7d', 'active', 'success'),
);
