/** Anything pino can write serialized lines to (a stream, a sonic-boom, a test capture). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface PrettyOptions {
  /** ANSI colours for the level; default: only when writing to a TTY stdout and NO_COLOR is unset. */
  colors?: boolean;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEVEL_COLORS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[41m\x1b[97m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Fields shown in the fixed part of the line (or not at all). */
const HEADER_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name', 'err']);

const pad2 = (n: number) => String(n).padStart(2, '0');

function clock(time: unknown): string {
  const parsed = typeof time === 'number' || typeof time === 'string' ? new Date(time) : new Date();
  const d = Number.isNaN(parsed.getTime()) ? new Date() : parsed;
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  // JSON.stringify gives undefined for functions/symbols, which a parsed line never holds.
  return JSON.stringify(v) ?? '';
}

function formatError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return ` err=${formatValue(err)}`;
  const e = err as { type?: unknown; message?: unknown; stack?: unknown };
  if (typeof e.stack === 'string') return '\n' + e.stack.replace(/^/gm, '    ');
  return ` err=${formatValue(err)}`;
}

/** Turns one serialized pino JSON line into `12:00:00.123 INFO  name: message key=value …`. */
export function formatPrettyLine(line: string, options: { colors?: boolean } = {}): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return line.endsWith('\n') ? line : line + '\n';
    rec = parsed as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : line + '\n';
  }
  const rawLevel = rec['level'];
  const level =
    typeof rawLevel === 'number'
      ? (LEVEL_NAMES[rawLevel] ?? String(rawLevel))
      : typeof rawLevel === 'string'
        ? rawLevel
        : 'info';
  let label = level.toUpperCase().padEnd(5);
  if (options.colors) label = `${LEVEL_COLORS[level] ?? ''}${label}${RESET}`;
  let out = `${options.colors ? DIM : ''}${clock(rec['time'])}${options.colors ? RESET : ''} ${label} `;
  if (typeof rec['name'] === 'string') out += `${rec['name']}: `;
  out +=
    typeof rec['msg'] === 'string' ? rec['msg'] : rec['msg'] === undefined ? '' : formatValue(rec['msg']);
  for (const [k, v] of Object.entries(rec)) {
    if (HEADER_FIELDS.has(k) || v === undefined) continue;
    out += ` ${options.colors ? DIM : ''}${k}=${options.colors ? RESET : ''}${formatValue(v)}`;
  }
  if (rec['err'] !== undefined) out += formatError(rec['err']);
  return out + '\n';
}

function isTtyStdout(dest: LogDestination): boolean {
  return dest === process.stdout && process.stdout.isTTY && !process.env['NO_COLOR'];
}

/** A destination that re-formats each JSON line human-readably before passing it on. */
export function createPrettyStream(
  dest: LogDestination = process.stdout,
  options: PrettyOptions = {},
): LogDestination {
  const colors = options.colors ?? isTtyStdout(dest);
  return {
    write(chunk: string) {
      // pino writes one line per call, but be tolerant of batches.
      let out = '';
      for (const line of chunk.split('\n')) if (line !== '') out += formatPrettyLine(line, { colors });
      return dest.write(out);
    },
  };
}
