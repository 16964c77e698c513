// Shrinks a `pnpm deploy --prod` node_modules for an image. pnpm links optional peer dependencies that happen to be
// in the workspace (@prisma/client's `prisma` CLI and `typescript`, ~170 MB with what they pull in), although
// nothing loads them at run time. This removes those links, then every package no remaining link reaches.
// Usage: node deploy/prune-deps.mjs <node_modules> <package>...
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

const [dir, ...drop] = process.argv.slice(2);
if (!dir || drop.length === 0) {
  console.error('usage: node prune-deps.mjs <node_modules> <package>...');
  process.exit(2);
}
const root = resolve(dir);
const store = join(root, '.pnpm');

/** The entries of a node_modules folder, scoped packages expanded: `[name, path]`. */
function entries(nodeModules) {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules).flatMap((name) => {
    if (name.startsWith('.')) return [];
    const path = join(nodeModules, name);
    if (!name.startsWith('@')) return [[name, path]];
    return readdirSync(path).map((sub) => [`${name}/${sub}`, join(path, sub)]);
  });
}

// 1. Unlink the dropped packages wherever pnpm linked them as a dependency of a store package.
for (const pkg of readdirSync(store)) {
  for (const [name, path] of entries(join(store, pkg, 'node_modules')))
    if (drop.includes(name) && lstatSync(path).isSymbolicLink()) rmSync(path);
}

// 2. Walk what the top level still reaches; the store entry of a package is `.pnpm/<id>/node_modules/<name>`.
const reached = new Set();
const queue = entries(root).map(([, path]) => path);
while (queue.length > 0) {
  const path = queue.pop();
  if (!existsSync(path)) continue;
  const real = realpathSync(path);
  if (!real.startsWith(store + sep)) continue;
  const id = real.slice(store.length + 1).split(sep)[0];
  if (reached.has(id)) continue;
  reached.add(id);
  for (const [, dep] of entries(join(store, id, 'node_modules'))) queue.push(dep);
}

// 3. Delete the rest.
let removed = 0;
for (const id of readdirSync(store)) {
  if (id.startsWith('.') || id === 'node_modules' || reached.has(id)) continue;
  rmSync(join(store, id), { recursive: true, force: true });
  removed += 1;
}
// 4. pnpm's hoisted links (.pnpm/node_modules) to what is gone would dangle: remove them too.
for (const [, path] of entries(join(store, 'node_modules'))) if (!existsSync(path)) rmSync(path);
console.log(`prune-deps: kept ${reached.size} packages, removed ${removed}`);
