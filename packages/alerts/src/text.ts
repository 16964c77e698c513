import type { AlertEvent, AlertPayload } from '@keyway/contracts';

/** A short human title per event, for chat platforms. */
export const ALERT_TITLES: Readonly<Record<AlertEvent, string>> = {
  'key.invalid': 'Key invalidated',
  'key.blacklisted': 'Key blacklisted',
  'group.exhausted': 'Group exhausted',
  'group.storm': 'Storm guard opened',
  'upstream.down': 'Upstream down',
  'budget.warning': 'Budget at 80%',
  'budget.exceeded': 'Budget exceeded',
  'keys.restored': 'Keys restored',
  'task.finished': 'Task finished',
};

/** `[CRITICAL] Group exhausted`. */
export function alertTitle(p: AlertPayload): string {
  return `[${p.severity.toUpperCase()}] ${ALERT_TITLES[p.event]}`;
}

/** How many alerts de-duplication held back before this one (0 when none). */
export function suppressedCount(p: AlertPayload): number {
  const n = p.details['suppressed'];
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/** The body lines every chat format shows, as `label: value` pairs after the message. */
export function alertFacts(p: AlertPayload): Array<[string, string]> {
  const facts: Array<[string, string]> = [['Event', p.event]];
  if (p.group !== undefined) facts.push(['Group', p.group]);
  if (p.key !== undefined) facts.push(['Key', p.key]);
  if (p.accessKey !== undefined) facts.push(['Access key', p.accessKey]);
  const suppressed = suppressedCount(p);
  if (suppressed > 0) facts.push(['Suppressed', `${suppressed} similar alert(s) since the last one`]);
  facts.push(['Time', p.time]);
  return facts;
}

/** The alert as plain text (title, message, facts), for platforms without markup. */
export function alertPlainText(p: AlertPayload): string {
  return [alertTitle(p), p.message, ...alertFacts(p).map(([k, v]) => `${k}: ${v}`)].join('\n');
}

/** The alert as Markdown (bold title and labels), for DingTalk and WeCom. */
export function alertMarkdown(p: AlertPayload): string {
  return [`### ${alertTitle(p)}`, p.message, '', ...alertFacts(p).map(([k, v]) => `- **${k}**: ${v}`)].join(
    '\n',
  );
}

/** Parses a JSON answer; null when it is not JSON (a truncated or HTML answer). */
export function jsonAnswer(body: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `HTTP 500` for a non-2xx answer, else null. */
export function httpRejection(statusCode: number): string | null {
  return statusCode >= 200 && statusCode < 300 ? null : `HTTP ${statusCode}`;
}

/**
 * The chat platforms answering 200 with `{"<code>": n, "<msg>": "…"}`: a non-zero code is a refusal. Their
 * messages name the problem ("sign not match", "keywords not in content"), not the token.
 */
export function codeRejection(statusCode: number, body: string, code: string, msg: string): string | null {
  const http = httpRejection(statusCode);
  const json = jsonAnswer(body);
  const value = json?.[code];
  if (typeof value === 'number' && value !== 0) {
    const text = json?.[msg];
    return `${code} ${value}${typeof text === 'string' ? `: ${text.slice(0, 200)}` : ''}`;
  }
  return http;
}
