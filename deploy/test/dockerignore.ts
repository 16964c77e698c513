// Docker's .dockerignore matching, enough for the tests: `*`, `?`, `**`, `!` exceptions, last match wins, and a
// pattern that matches a folder leaves out everything in it.

function globToRegExp(pattern: string): RegExp {
  let source = '';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (p.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (p.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The patterns of a .dockerignore file. */
export function parseDockerignore(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Whether a repository path (`apps/gateway/src/main.ts`) is left out of the build context. */
export function isIgnored(patterns: string[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const exception = raw.startsWith('!');
    const re = globToRegExp(exception ? raw.slice(1) : raw);
    if (prefixes.some((prefix) => re.test(prefix))) ignored = !exception;
  }
  return ignored;
}
