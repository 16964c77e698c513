import { createRequire } from 'node:module';

/**
 * A driver module loaded the first time it is used, not when the app starts: the drivers an installation does not
 * use (standalone on SQLite never touches pg or mariadb, nor ioredis and BullMQ, which @keyway/queue loads the same
 * way) cost no memory. Loaded eagerly, those four and the Prisma adapters held ~11 MiB of heap, and ~15 MiB of RSS,
 * in every standalone process.
 *
 * `from` is the caller's `import.meta.url`: the module is resolved from there, as the caller's own import would be
 * (from a bundle, the bundle's directory). Use it only for CommonJS packages, or packages whose `import` and
 * `require` entries are one instance (pg's ESM entry wraps its CommonJS one): loading a package both ways would
 * give two copies, whose classes `instanceof` does not match. Types come from `import type`.
 */
export function lazyRequire<T>(from: string, name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(from)(name) as T);
}
