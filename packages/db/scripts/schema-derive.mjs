// Derives one Prisma schema per database provider from prisma/schema.source.prisma.
// Shared by scripts/schemas.mjs, scripts/migration.mjs and the schema tests, so that "what the script would
// produce now" has exactly one definition.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROVIDERS = /** @type {const} */ (['sqlite', 'postgresql', 'mysql']);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const sourceSchemaPath = join(repoRoot, 'prisma', 'schema.source.prisma');

/** @param {string} provider */
export function derivedSchemaPath(provider) {
  return join(repoRoot, 'prisma', provider, 'schema.prisma');
}

/** @param {string} provider */
export function migrationsDirPath(provider) {
  return join(repoRoot, 'prisma', provider, 'migrations');
}

/** @param {string} provider */
function header(provider) {
  return [
    '// GENERATED from prisma/schema.source.prisma by `pnpm --filter @keyway/db run schemas`: do not edit.',
    '',
    'generator client {',
    '  provider     = "prisma-client"',
    `  output       = "../../packages/db/src/generated/${provider}"`,
    '  moduleFormat = "esm"',
    '  runtime      = "nodejs"',
    // The small query compiler: about half the memory of the fast one; Keyway's hot paths do not go through Prisma.
    '  compilerBuild = "small"',
    '}',
    '',
    '// No url: Prisma 7 takes connection details from the driver adapter at run time.',
    'datasource db {',
    `  provider = "${provider}"`,
    '}',
    '',
  ];
}

// `field Type attrs // mysql: @db.Text // postgresql: @db.Uuid`: the first `// <provider>:` starts the markers.
const MARKERS = /\s*\/\/\s*(sqlite|postgresql|mysql):.*$/;
const MARKER = /\/\/\s*(sqlite|postgresql|mysql):\s*((?:(?!\/\/).)*)/g;

/**
 * @param {string} source the text of prisma/schema.source.prisma
 * @param {string} provider one of PROVIDERS
 * @returns {string} the derived schema
 */
export function deriveSchema(source, provider) {
  if (!PROVIDERS.includes(/** @type {never} */ (provider))) throw new Error(`unknown provider ${provider}`);
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  // The source's leading comment block documents the source itself, not the derived file.
  let start = 0;
  while (start < lines.length && (lines[start] ?? '').startsWith('//')) start++;
  while (start < lines.length && (lines[start] ?? '').trim() === '') start++;

  const body = lines.slice(start).map((line) => {
    const trimmed = line.trim();
    if (trimmed.startsWith('//')) return line;
    const m = MARKERS.exec(line);
    if (!m) return line.trimEnd();
    const field = line.slice(0, m.index).trimEnd();
    const extra = [];
    for (const [, p, attrs] of m[0].matchAll(MARKER)) {
      if (p === provider && attrs?.trim()) extra.push(attrs.trim());
    }
    return extra.length > 0 ? `${field} ${extra.join(' ')}` : field;
  });
  const text = [...header(provider), ...align(body)].join('\n');
  return `${text.replace(/\n+$/, '')}\n`;
}

/** Reads the source schema and derives every provider's schema. @returns {Record<string, string>} */
export function deriveAll() {
  const source = readFileSync(sourceSchemaPath, 'utf8');
  return Object.fromEntries(PROVIDERS.map((p) => [p, deriveSchema(source, p)]));
}

// Re-aligns the name / type / attribute columns of model fields the way `prisma format` lays them out, because
// appended provider attributes would otherwise leave ragged columns. A run of fields ends at a blank line or a
// block attribute (@@...); comment lines inside a run are kept but do not take part.
/** @param {string[]} lines */
function align(lines) {
  const out = [...lines];
  let inModel = false;
  /** @type {number[]} */
  let run = [];
  const flush = () => {
    const rows = run.map((i) => splitField(out[i] ?? ''));
    const nameW = Math.max(...rows.map((r) => r.name.length));
    const typeW = Math.max(...rows.map((r) => r.type.length));
    run.forEach((i, k) => {
      const r = rows[k];
      if (!r) return;
      out[i] = r.rest
        ? `  ${r.name.padEnd(nameW)} ${r.type.padEnd(typeW)} ${r.rest}`
        : `  ${r.name.padEnd(nameW)} ${r.type}`;
    });
    run = [];
  };
  lines.forEach((line, i) => {
    const t = line.trim();
    if (/^(model|view|type)\s+\w+\s*\{$/.test(t)) {
      inModel = true;
      return;
    }
    if (!inModel) return;
    if (t === '}') {
      flush();
      inModel = false;
    } else if (t === '' || t.startsWith('@@')) flush();
    else if (!t.startsWith('//')) run.push(i);
  });
  return out;
}

/** @param {string} line */
function splitField(line) {
  const m = /^\s*(\S+)\s+(\S+)\s*(.*)$/.exec(line);
  if (!m) throw new Error(`cannot parse field line: ${line}`);
  return { name: m[1] ?? '', type: m[2] ?? '', rest: (m[3] ?? '').trim() };
}
