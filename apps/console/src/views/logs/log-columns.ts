/** Columns of the log table; `fixed` ones cannot be hidden (time, result, model say what a row is). */
export const LOG_COLUMNS = [
  { key: 'time', fixed: true, default: true },
  { key: 'result', fixed: true, default: true },
  { key: 'statusCode', fixed: false, default: true },
  { key: 'group', fixed: false, default: true },
  { key: 'model', fixed: true, default: true },
  { key: 'key', fixed: false, default: true },
  { key: 'accessKey', fixed: false, default: true },
  { key: 'duration', fixed: false, default: true },
  { key: 'ttfb', fixed: false, default: false },
  { key: 'tokens', fixed: false, default: true },
  { key: 'cost', fixed: false, default: true },
  { key: 'retries', fixed: false, default: true },
  { key: 'stream', fixed: false, default: false },
  { key: 'clientIp', fixed: false, default: false },
  { key: 'proxyKey', fixed: false, default: false },
  { key: 'requestId', fixed: false, default: false },
  { key: 'error', fixed: false, default: true },
] as const;

export type LogColumn = (typeof LOG_COLUMNS)[number]['key'];

const ALL = new Set<string>(LOG_COLUMNS.map((c) => c.key));

/** Reads the saved column choice; unknown names are dropped and fixed columns always kept. */
export function readColumns(saved: string | null): LogColumn[] {
  let picked: string[] | null = null;
  try {
    const v: unknown = saved ? JSON.parse(saved) : null;
    if (Array.isArray(v)) picked = v.filter((x): x is string => typeof x === 'string' && ALL.has(x));
  } catch {
    picked = null;
  }
  return LOG_COLUMNS.filter((c) => c.fixed || (picked ? picked.includes(c.key) : c.default)).map(
    (c) => c.key,
  );
}
