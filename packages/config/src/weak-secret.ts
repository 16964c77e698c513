/** Why a secret is weak: `refuse` = do not start with it; `warn` = acceptable, but say so. */
export interface WeakSecret {
  level: 'refuse' | 'warn';
  reason: string;
}

export const MIN_SECRET_LENGTH = 16;

/** Words and patterns people put in "secrets"; matched case-insensitively anywhere in the value. */
const COMMON = [
  'password',
  'passwd',
  'secret',
  'admin',
  'changeme',
  'change-me',
  'default',
  'letmein',
  'qwerty',
  'keyway',
  'example',
  'sample',
  'test',
  'demo',
  'root',
  'token',
  'welcome',
  'abc123',
  '123456',
];

/** Drops runs of 4+ characters that go up or down by one (1234, abcd, 9876) or repeat (aaaa). */
function withoutTrivialRuns(value: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const step = value.charCodeAt(i + 1) - value.charCodeAt(i); // NaN on the last character
    let j = i + 1;
    if (Math.abs(step) <= 1)
      while (j < value.length && value.charCodeAt(j) - value.charCodeAt(j - 1) === step) j++;
    if (j - i >= 4) {
      i = j;
    } else {
      out += value[i] ?? '';
      i++;
    }
  }
  return out;
}

function characterClasses(value: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((r) => r.test(value)).length;
}

/**
 * Judges a secret (AUTH_KEY, METRICS_TOKEN, ENCRYPTION_KEY): `refuse` when it is under 16 characters or is
 * mostly common words and keyboard/number sequences; `warn` when it mixes fewer than 3 character classes
 * and is shorter than 32 characters; null when it looks random enough.
 */
export function isWeakSecret(value: string): WeakSecret | null {
  if (value.length < MIN_SECRET_LENGTH)
    return { level: 'refuse', reason: `shorter than ${MIN_SECRET_LENGTH} characters` };
  const lower = value.toLowerCase();
  const found = COMMON.filter((w) => lower.includes(w));
  // What is left once the guessable parts are gone is what an attacker has to guess.
  // Symbols count (they are entropy); separators between words do not.
  let rest = lower;
  for (const w of found) rest = rest.split(w).join('');
  rest = withoutTrivialRuns(rest).replace(/[\s._-]/g, '');
  if (rest.length < 12) {
    const what =
      found.length > 0
        ? `common words (${found.map((w) => `"${w}"`).join(', ')})`
        : 'sequences, repeats and separators';
    return { level: 'refuse', reason: `made mostly of ${what}` };
  }
  if (new Set(value).size < 8) return { level: 'refuse', reason: 'too few distinct characters' };
  // A long hex or base32 string (e.g. `openssl rand -hex 32`) is strong with two classes; short ones less so.
  if (characterClasses(value) < 3 && value.length < 32)
    return { level: 'warn', reason: 'fewer than 3 kinds of characters (lower, upper, digits, symbols)' };
  return null;
}
