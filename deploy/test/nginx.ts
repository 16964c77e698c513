// A small nginx configuration reader: directives with their arguments and blocks.

export interface Directive {
  name: string;
  args: string[];
  block: Directive[] | undefined;
  line: number;
}

type Token = { text: string; quoted: boolean; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line += 1;
    if (/\s/.test(c)) continue;
    if (c === '#') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i += 1;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ text: c, quoted: false, line });
    } else if (c === '"' || c === "'") {
      let value = '';
      for (i += 1; i < text.length && text[i] !== c; i++) value += text[i] === '\\' ? text[++i] : text[i];
      tokens.push({ text: value, quoted: true, line });
    } else {
      let word = '';
      while (i < text.length && !/[\s{};]/.test(text[i]!)) word += text[i++];
      i -= 1;
      tokens.push({ text: word, quoted: false, line });
    }
  }
  return tokens;
}

/** Parses nginx.conf text; throws on unbalanced braces or a directive without `;`. */
export function parseNginx(text: string): Directive[] {
  const tokens = tokenize(text);
  let pos = 0;
  const block = (nested: boolean): Directive[] => {
    const directives: Directive[] = [];
    while (pos < tokens.length) {
      const head = tokens[pos++]!;
      if (head.text === '}' && !head.quoted) {
        if (!nested) throw new Error(`line ${head.line}: unexpected }`);
        return directives;
      }
      const args: string[] = [];
      for (;;) {
        const t = tokens[pos++];
        if (!t) throw new Error(`line ${head.line}: ${head.text} is not terminated`);
        if (!t.quoted && t.text === ';') {
          directives.push({ name: head.text, args, block: undefined, line: head.line });
          break;
        }
        if (!t.quoted && t.text === '{') {
          directives.push({ name: head.text, args, block: block(true), line: head.line });
          break;
        }
        args.push(t.text);
      }
    }
    if (nested) throw new Error('missing }');
    return directives;
  };
  return block(false);
}

/** Directives with this name directly inside `block`. */
export function children(block: Directive[] | undefined, name: string): Directive[] {
  return (block ?? []).filter((d) => d.name === name);
}

/** The value of a directive in a location, falling back to its server and then to http, as nginx inherits. */
export function inherited(scopes: (Directive[] | undefined)[], name: string): string[] | undefined {
  for (const scope of scopes) {
    const found = children(scope, name);
    if (found.length > 0) return found.at(-1)!.args;
  }
  return undefined;
}

/** nginx time (`900s`, `15m`, `1h`, bare seconds) in seconds. */
export function seconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  if (!m) throw new Error(`not an nginx time: ${value}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

/** nginx size (`100m`, `1g`, `512k`, bare bytes) in bytes. */
export function bytes(value: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(value);
  if (!m) throw new Error(`not an nginx size: ${value}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] ?? ' ').toLowerCase());
}
