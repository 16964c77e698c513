// Fails when the console's JavaScript, gzip-compressed, is over budget: operators load it on every visit.
// Usage: node scripts/bundle-size.mjs [--dir DIST] [--budget BYTES]   (default: dist, 1.5 MB)
// Other arguments are ignored: `pnpm build <anything>` appends its arguments to this command.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const DEFAULT_BUDGET = 1_500_000;

function jsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return /\.(m?js)$/.test(name) ? [path] : [];
  });
}

function parseArgs(argv) {
  let dir = resolve(fileURLToPath(new URL('..', import.meta.url)), 'dist');
  let budget = DEFAULT_BUDGET;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--budget') budget = Number(argv[++i]);
    else if (argv[i] === '--dir') dir = resolve(argv[++i] ?? '');
  }
  if (!Number.isFinite(budget) || budget <= 0) throw new Error(`bad --budget: ${budget}`);
  return { dir, budget };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

const { dir, budget } = parseArgs(process.argv.slice(2));
let files;
try {
  files = jsFiles(dir);
} catch (e) {
  console.error(`bundle-size: cannot read ${dir}: ${e.message} (run vite build first)`);
  process.exit(2);
}
if (files.length === 0) {
  console.error(`bundle-size: no .js files under ${dir}`);
  process.exit(2);
}

const sizes = files
  .map((file) => {
    const content = readFileSync(file);
    return { file: relative(dir, file), raw: content.length, gzip: gzipSync(content, { level: 9 }).length };
  })
  .sort((a, b) => b.gzip - a.gzip);
const total = sizes.reduce((sum, s) => sum + s.gzip, 0);

for (const s of sizes.slice(0, 8)) console.log(`${kb(s.gzip).padStart(12)}  ${s.file} (${kb(s.raw)} raw)`);
if (sizes.length > 8) console.log(`${''.padStart(12)}  … and ${sizes.length - 8} smaller files`);
const verdict = total <= budget ? 'within' : 'OVER';
console.log(
  `bundle-size: ${files.length} JS files, ${kb(total)} gzip in total, ${verdict} the budget of ${kb(budget)}`,
);
process.exit(total <= budget ? 0 : 1);
