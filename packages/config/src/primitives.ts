import { isIP } from 'node:net';
import { z } from 'zod';

// Every schema here reads one environment variable: a string, or undefined when unset (loadEnv turns empty
// values into undefined). Messages never quote the value: loadEnv appends it, unless the name marks a secret.

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** A boolean variable: true/false, 1/0, yes/no, on/off (any case); `default` when unset. */
export function booleanFromEnv(defaultValue: boolean) {
  return z
    .string()
    .transform((raw, ctx) => {
      const v = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(v)) return true;
      if (FALSE_WORDS.has(v)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be one of true/false, 1/0, yes/no, on/off' });
      return z.NEVER;
    })
    .default(defaultValue);
}

/** The message for an integer outside (or not) in range. */
function intMessage(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be an integer between ${min} and ${max}`;
  if (min !== undefined) return `must be an integer of at least ${min}`;
  if (max !== undefined) return `must be an integer of at most ${max}`;
  return 'must be an integer';
}

/** An integer variable within `[min, max]` (inclusive); `default` when unset. "1e3", "1.0", "0x10" are refused. */
export function intFromEnv(defaultValue: number, range: { min?: number; max?: number } = {}) {
  const { min, max } = range;
  const message = intMessage(min, max);
  return z
    .string()
    .transform((raw, ctx) => {
      const v = raw.trim();
      const n = /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    })
    .default(defaultValue);
}

/** A TCP port (1–65535); `default` when unset. */
export function portSchema(defaultValue: number) {
  return intFromEnv(defaultValue, { min: 1, max: 65535 });
}

/** Splits a comma-separated variable into trimmed, non-empty entries. */
export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A comma-separated list; `check` returns the normalized entry, or null when it is invalid. One issue per
 * bad entry, naming its position (not its text: the variable's value is appended by loadEnv).
 */
export function listFromEnv(check: (entry: string) => string | null, what: string) {
  return z
    .string()
    .transform((raw, ctx) => {
      const out: string[] = [];
      for (const [i, entry] of splitList(raw).entries()) {
        const ok = check(entry);
        if (ok === null) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not ${what}` });
        else out.push(ok);
      }
      return out;
    })
    .default(() => []);
}

/** `ip` or `ip/prefix` (IPv4 or IPv6), normalized to lower case; null when invalid. */
export function parseIpOrCidr(entry: string): string | null {
  const slash = entry.indexOf('/');
  const ip = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return null;
  if (slash < 0) return ip.toLowerCase();
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return null;
  return `${ip.toLowerCase()}/${Number(prefix)}`;
}

/** A browser origin (`https://console.example.com[:port]`, no path) or `*`; the normalized origin or null. */
export function parseOrigin(entry: string): string | null {
  if (entry === '*') return entry;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // Anything beyond scheme://host[:port] (a path, query, fragment, credentials) is not an origin.
  const bare = url.pathname === '/' && !/[?#]/.test(entry) && url.username === '' && url.password === '';
  // As browsers send it: lower-case host, no default port, no trailing slash.
  return bare ? url.origin : null;
}

/** A URL variable whose scheme must be one of `schemes` (e.g. ['redis:', 'rediss:']). */
export function urlFromEnv(defaultValue: string, schemes: readonly string[]) {
  const message = `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`;
  return z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          const u = new URL(v);
          return schemes.includes(u.protocol) && u.hostname !== '';
        } catch {
          return false;
        }
      },
      { message },
    )
    .default(defaultValue);
}
