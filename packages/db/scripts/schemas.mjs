// Writes prisma/<provider>/schema.prisma for every provider from prisma/schema.source.prisma.
// `--check` writes nothing and exits 1 when a committed schema differs from what would be written.
// After changing the source you usually want `run migration -- <name>` instead, which also writes migrations.
import process from 'node:process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { deriveAll, derivedSchemaPath, repoRoot } from './schema-derive.mjs';

const check = process.argv.includes('--check');
let stale = 0;
for (const [provider, text] of Object.entries(deriveAll())) {
  const path = derivedSchemaPath(provider);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${relative(repoRoot, path)} is out of date\n`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${relative(repoRoot, path)}\n`);
}
if (stale > 0) {
  process.stderr.write(
    'run `pnpm --filter @keyway/db run schemas` (and a migration if the models changed)\n',
  );
  process.exit(1);
}
