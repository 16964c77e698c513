// Generates one Prisma client per database provider, offline.
// Prisma's CLI downloads a schema-engine binary before `generate` unless PRISMA_SCHEMA_ENGINE_BINARY names an
// existing file; generate never runs that engine, so any file will do (see README, "Prisma offline").
import process from 'node:process';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');
const providers = ['sqlite', 'postgresql', 'mysql'];

for (const provider of providers) {
  const schema = join(root, 'prisma', provider, 'schema.prisma');
  if (!existsSync(schema)) continue;
  // Generating three clients takes ~15 s: skip a client whose schema (and Prisma version) has not changed.
  const out = join(root, 'packages', 'db', 'src', 'generated', provider);
  const stamp = join(out, '.schema-hash');
  const prismaVersion = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8')).version;
  const hash = createHash('sha256').update(readFileSync(schema)).update(prismaVersion).digest('hex');
  if (!process.argv.includes('--force') && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash)
    continue;
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', schema], {
    cwd: join(root, 'prisma', provider),
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout);
    process.exit(result.status ?? 1);
  }
  writeFileSync(stamp, hash);
  process.stdout.write(`generated the ${provider} Prisma client\n`);
}

// The generated clients import the query compiler's wasm as an ES module exporting it in base64: the module stays
// loaded for the life of the process, its ~2.2 MB source and the ~2.2 MB string it exports with it, though the
// wasm is compiled once, at the first query. Loaded through `require` and dropped from its cache instead, both are
// garbage once compiled (~4.4 MiB of heap in every process with a database). Applied to every generated client,
// freshly generated or not (idempotent).
const WASM_IMPORT =
  /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/query_compiler_[a-z_]+\.[a-z]+\.wasm-base64)\.mjs"\)/;
for (const provider of providers) {
  const file = join(root, 'packages', 'db', 'src', 'generated', provider, 'internal', 'class.ts');
  if (!existsSync(file)) continue;
  const source = readFileSync(file, 'utf8');
  const match = WASM_IMPORT.exec(source);
  if (!match) {
    // Already patched, or a Prisma version that writes the import differently (then the heap keeps the wasm).
    if (source.includes('.wasm-base64.mjs'))
      process.stderr.write(
        `generate: the ${provider} client's wasm import has an unknown shape; left as is\n`,
      );
    continue;
  }
  const replacement =
    `const { createRequire } = await import('node:module')\n` +
    `    const load = createRequire(import.meta.url)\n` +
    `    const id = load.resolve("${match[1]}.js")\n` +
    `    const { wasm } = load(id) as { wasm: string }\n` +
    `    delete load.cache[id]`;
  writeFileSync(file, source.replace(match[0], replacement));
}
