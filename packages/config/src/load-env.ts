import type { z } from 'zod';

/** One invalid variable. */
export interface EnvProblem {
  variable: string;
  message: string;
}

/** Thrown by loadEnv; the message lists every problem, one per line, each naming its variable. */
export class EnvError extends Error {
  readonly problems: readonly EnvProblem[];

  constructor(problems: readonly EnvProblem[]) {
    const n = problems.length;
    super(
      `Invalid environment configuration (${n} problem${n === 1 ? '' : 's'}):\n` +
        problems.map((p) => `${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'EnvError';
    this.problems = problems;
  }
}

/** Variables whose values are never repeated in an error message. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASS|CREDENTIAL/i;

/** Shown values are cut here: enough to spot the mistake, not enough to flood a log. */
const MAX_SHOWN = 80;

/** `scheme://user:password@host` → `scheme://user:***@host`: a DATABASE_URL's name does not say it holds one. */
function hideUrlCredentials(value: string): string {
  return value.replace(
    /([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s,]*)@/gi,
    (_m, scheme: string, userinfo: string) =>
      `${scheme}${userinfo.includes(':') ? `${userinfo.slice(0, userinfo.indexOf(':'))}:***` : '***'}@`,
  );
}

function shown(value: string): string {
  const v = hideUrlCredentials(value);
  return JSON.stringify(v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v);
}

/** A variable's value as the schema sees it: unset, empty and blank all mean "use the default". */
function present(source: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

/**
 * Parses the environment with `schema` (usually `z.object({ ...httpServerEnv, … })`). Empty values count
 * as unset, so `.env` lines like `AUTH_KEY=` take the default. Throws EnvError listing every problem.
 */
export function loadEnv<S extends z.ZodType>(
  schema: S,
  source: Readonly<Record<string, string | undefined>> = process.env,
): z.output<S> {
  const env = present(source);
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue): EnvProblem => {
    const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)';
    const name = String(issue.path[0] ?? '');
    const value = env[name];
    if (value === undefined) {
      // zod's own "Invalid input: expected string, received undefined" becomes "is required"; a schema's message
      // for a missing variable (what to set it to) is kept.
      const generic = issue.code === 'invalid_type' && issue.message.startsWith('Invalid input');
      return { variable, message: generic ? 'is required' : issue.message };
    }
    const echo = SECRET_NAME.test(name) ? '' : ` (got ${shown(value)})`;
    return { variable, message: `${issue.message}${echo}` };
  });
  throw new EnvError(problems);
}
