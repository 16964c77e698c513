// Shared by the deployment tests: the repository root, the workspace's packages and external tools.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root (deploy/test/../..). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A file of the repository as text. */
export function readText(relative: string): string {
  return readFileSync(join(root, relative), 'utf8');
}

/** A YAML file of the repository; `<<` merge keys are expanded as Docker Compose does. */
export function readYaml(relative: string): unknown {
  return parse(readText(relative), { merge: true }) as unknown;
}

/** Every document of a multi-document YAML file, failing on any syntax error. */
export function readYamlDocuments(relative: string): unknown[] {
  return parseAllDocuments(readText(relative)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** A plain object, or `{}` for anything else (tests then fail on the missing fields, not on a TypeError). */
export function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** An array, or `[]` for anything else. */
export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

export interface WorkspacePackage {
  name: string;
  /** Relative to the root, e.g. `packages/core`. */
  dir: string;
  manifest: {
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
}

/** The workspace's apps and packages by package name. */
export function workspacePackages(): Map<string, WorkspacePackage> {
  const found = new Map<string, WorkspacePackage>();
  for (const base of ['apps', 'packages']) {
    for (const entry of readdirSync(join(root, base))) {
      const file = join(root, base, entry, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as WorkspacePackage['manifest'] & {
        name: string;
      };
      found.set(manifest.name, { name: manifest.name, dir: `${base}/${entry}`, manifest });
    }
  }
  return found;
}

/** A package and every workspace package it depends on (dev dependencies too: they run its tests). */
export function workspaceClosure(name: string, packages = workspacePackages()): WorkspacePackage[] {
  const seen = new Map<string, WorkspacePackage>();
  const visit = (n: string): void => {
    const pkg = packages.get(n);
    if (!pkg || seen.has(n)) return;
    seen.set(n, pkg);
    for (const dep of Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.devDependencies }))
      visit(dep);
  };
  visit(name);
  return [...seen.values()];
}

/** Runs a command; never throws. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd ?? root, env: options.env });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
  };
}

/**
 * Whether an external tool a test needs is installed. Missing: under CI that is an error (.ci/run installs it);
 * elsewhere the test is skipped with a loud warning.
 */
export function requireTool(name: string, present: boolean, install: string): boolean {
  if (present) return true;
  if (process.env.CI) throw new Error(`${name} is required in CI to check the deployment files (${install})`);
  console.warn(`\n!!! ${name} not installed: skipping the tests that need it (${install})\n`);
  return false;
}
