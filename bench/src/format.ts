/** Number formatting and target labels shared by the text report and the summary tables. Pure. */
import type { TargetName } from './args';

export type Num = number | null;

/** How tables name each target. */
export const LABELS: Record<TargetName, string> = {
  direct: 'direct (bench upstream)',
  bare: 'bare hono + undici',
  standalone: 'standalone, logging all',
  'standalone-nolog': 'standalone, logging off',
  distributed: 'distributed gateway',
  'standalone-100k': 'standalone, 100,000 keys',
  'standalone-200groups': 'standalone, 200 groups',
  'standalone-accesskey': 'standalone, access key with limits',
  'standalone-pool': 'standalone, key pacing + affinity',
  'standalone-translated': 'standalone, Anthropic caller translated',
  'standalone-traced': 'standalone, tracing on (OTLP)',
};

/** `value` with `digits` decimals, `n/a` for null. */
export function fmt(value: Num | undefined, digits = 2): string {
  if (value === null || value === undefined) return 'n/a';
  return value.toFixed(digits);
}

/** With an explicit sign: `+0.120`, `-0.050`. */
export const signed = (value: Num, digits = 3): string =>
  value === null ? 'n/a' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** Rounded with thousands separators: `12,345`. */
export const int = (value: Num): string =>
  value === null ? 'n/a' : Math.round(value).toLocaleString('en-US');
