// Lint-like checks of deploy/*/Dockerfile (no Docker engine here): what would break or weaken a built image.
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startScriptDefaults } from '@keyway/testing/start-script';
import { copyArgs, envOf, execForm, find, parseDockerfile, type Stage } from './dockerfile';
import { isIgnored, parseDockerignore } from './dockerignore';
import { arr, obj, readText, readYaml, root, workspacePackages } from './support';

const APPS = ['gateway', 'control-plane', 'worker', 'standalone'] as const;
const packages = workspacePackages();

function load(app: string): { stages: Stage[]; build: Stage; final: Stage } {
  const stages = parseDockerfile(readText(`deploy/${app}/Dockerfile`));
  return { stages, build: stages[0]!, final: stages.at(-1)! };
}

/** The build-stage path a final-stage path comes from, through `COPY --from=<stage> <src> <dest>`. */
function sourceInBuild(final: Stage, path: string): string | undefined {
  for (const { args } of find(final, 'COPY')) {
    const { options, sources, dest } = copyArgs(args);
    const d = dest.replace(/\/$/, '');
    if (!options.has('from') || sources.length !== 1) continue;
    if (path === d || path.startsWith(`${d}/`)) return sources[0]!.replace(/\/$/, '') + path.slice(d.length);
  }
  return undefined;
}

/**
 * Where the build stage copies a repository folder: `cp -r apps/x/dist /out/dist` gives `/out/dist`, and
 * `cp -r prisma/a prisma/b /out/prisma/` gives `/out/prisma/a` for `prisma/a`.
 */
function copiedTo(build: Stage, repoDir: string): string | undefined {
  const commands = find(build, 'RUN').flatMap((r) => r.args.split(/&&|;/).map((c) => c.trim().split(/\s+/)));
  for (const words of commands) {
    if (words[0] !== 'cp' || words[1] !== '-r') continue;
    const sources = words.slice(2, -1).map((w) => w.replace(/\/$/, ''));
    const dest = words.at(-1)!.replace(/\/$/, '');
    if (!sources.includes(repoDir)) continue;
    return sources.length === 1 ? dest : posix.join(dest, posix.basename(repoDir));
  }
  return undefined;
}

/** The tsup entries of an app: `{ main: 'src/main.ts' }` anywhere in its tsup.config.ts gives main → src/main.ts. */
function tsupEntries(app: string): Map<string, string> {
  const file = join(root, 'apps', app, 'tsup.config.ts');
  if (!existsSync(file)) return new Map();
  const text = readText(`apps/${app}/tsup.config.ts`);
  return new Map(
    [...text.matchAll(/['"]?([\w-]+)['"]?\s*:\s*['"](src\/[^'"]+\.ts)['"]/g)].map((m) => [m[1]!, m[2]!]),
  );
}

/** Where a path under the final WORKDIR comes from in the repository, following COPY and `cp -r`. */
function repoPathOf(app: string, runtimePath: string): string | undefined {
  const { build, final } = load(app);
  const workdir = find(final, 'WORKDIR').at(-1)?.args ?? '/';
  const inBuild = sourceInBuild(final, posix.resolve(workdir, runtimePath));
  if (!inBuild) return undefined;
  for (const dir of [`apps/${app}/dist`, 'apps/console/dist']) {
    const to = copiedTo(build, dir);
    if (to && (inBuild === to || inBuild.startsWith(`${to}/`))) return dir + inBuild.slice(to.length);
  }
  return undefined;
}

describe.each(APPS)('deploy/%s/Dockerfile', (app) => {
  const pkg = packages.get(`@keyway/${app}`);

  it('pins every base image to a version', () => {
    const { stages } = load(app);
    const aliases = new Set<string>();
    for (const stage of stages) {
      if (!aliases.has(stage.from)) {
        expect(stage.from, 'image:major.minor… or a digest, never latest').toMatch(
          /^[\w./-]+(:\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$/,
        );
      }
      if (stage.alias) aliases.add(stage.alias);
    }
    expect(stages.length, 'a build stage and a runtime stage').toBeGreaterThanOrEqual(2);
  });

  it('runs as a non-root user in the final stage', () => {
    const user = find(load(app).final, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', 'root:root', '0:0']).not.toContain(user);
  });

  it('has a health check on the port it listens on, needing nothing but node', () => {
    const { final } = load(app);
    const port = envOf(final).get('PORT');
    expect(port).toMatch(/^\d+$/);
    expect(find(final, 'EXPOSE').map((e) => e.args)).toContain(port);
    const check = find(final, 'HEALTHCHECK').at(-1)?.args ?? '';
    expect(check).toMatch(/\bCMD\b/);
    expect(check).toContain('/health');
    expect(check).toContain(`process.env.PORT||${port}`);
    expect(check).not.toMatch(/\bcurl\b/);
  });

  it('ships only the built app and its production dependencies', () => {
    const { build, final } = load(app);
    for (const copy of [...find(final, 'COPY'), ...find(final, 'ADD')]) {
      expect(copyArgs(copy.args).options.has('from'), `line ${copy.line}: ${copy.args}`).toBe(true);
    }
    expect(envOf(final).get('NODE_ENV')).toBe('production');
    const runs = find(build, 'RUN')
      .map((r) => r.args)
      .join(' ');
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs).toContain(`pnpm turbo run build --filter=@keyway/${app}`);
    expect(runs).toContain(`pnpm --filter @keyway/${app} deploy --prod`);
  });

  it("starts the app's built entrypoint, as its start script does, with the environment the script sets", () => {
    const start = pkg?.manifest.scripts?.start;
    expect(start, `apps/${app}/package.json has a start script`).toBeDefined();
    const { final } = load(app);
    const cmd = execForm(find(final, 'CMD').at(-1)?.args ?? '');
    expect(cmd, 'CMD in exec form, so node gets SIGTERM').toBeDefined();
    // `NAME=${NAME:-value}` before node: a default the caller may override, as the image's ENV is.
    const defaults = Object.entries(startScriptDefaults(start!, {}));
    for (const [name, value] of defaults)
      expect(envOf(final).get(name), `ENV ${name} as apps/${app}'s start script sets it`).toBe(value);
    expect(cmd).toEqual(start!.trim().split(/\s+/).slice(defaults.length));
    const entry = repoPathOf(app, cmd![1]!);
    expect(entry).toBe(`apps/${app}/${cmd![1]}`);
    const name = posix.basename(cmd![1]!, '.js');
    const source = tsupEntries(app).get(name);
    expect(source, `apps/${app}/tsup.config.ts builds ${name}`).toBeDefined();
    expect(existsSync(join(root, 'apps', app, source!))).toBe(true);
  });
});

describe('the control-plane image', () => {
  it('serves the console built into it (CONSOLE_DIR)', () => {
    const { build, final } = load('control-plane');
    const consoleDir = envOf(final).get('CONSOLE_DIR');
    expect(consoleDir).toBeDefined();
    expect(repoPathOf('control-plane', consoleDir!)).toBe('apps/console/dist');
    expect(find(build, 'RUN').some((r) => r.args.includes('--filter=@keyway/console'))).toBe(true);
  });

  it('can run the migrations: dist/migrate.js is built and finds prisma/<provider>/migrations beside it', () => {
    expect(tsupEntries('control-plane').has('migrate')).toBe(true);
    const { build } = load('control-plane');
    const dist = copiedTo(build, 'apps/control-plane/dist')!;
    expect(copiedTo(build, 'prisma/postgresql')).toBe(posix.join(posix.dirname(dist), 'prisma/postgresql'));
  });
});

/** The folders pnpm-workspace.yaml makes workspace members (`apps/*` expanded). */
function workspaceMembers(): string[] {
  const globs = arr(obj(readYaml('pnpm-workspace.yaml')).packages).map(String);
  return globs
    .flatMap((glob) => {
      if (!glob.endsWith('/*')) return [glob];
      const base = glob.slice(0, -2);
      return readdirSync(join(root, base)).map((d) => `${base}/${d}`);
    })
    .filter((dir) => existsSync(join(root, dir, 'package.json')));
}

describe('.dockerignore', () => {
  const patterns = parseDockerignore(readText('.dockerignore'));

  it('keeps local installs, builds, secrets and git history out of the build context', () => {
    for (const path of [
      'node_modules/vitest/package.json',
      'apps/gateway/node_modules/hono/package.json',
      'apps/gateway/dist/main.js',
      'packages/db/src/generated/postgresql/client.ts',
      '.env',
      '.git/HEAD',
      'data/keyway.db',
    ])
      expect(isIgnored(patterns, path), path).toBe(true);
  });

  it('keeps everything the images build from', () => {
    const needed = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'turbo.json',
      'tsconfig.base.json',
      'deploy/prune-deps.mjs',
      'deploy/package.json',
      'prisma/postgresql/schema.prisma',
      'prisma/postgresql/migrations/migration_lock.toml',
      // pnpm install --frozen-lockfile needs every workspace member's manifest.
      ...workspaceMembers().map((dir) => `${dir}/package.json`),
      ...APPS.map((app) => `apps/${app}/src/main.ts`),
      ...['tsup.app.ts'].filter((f) => existsSync(join(root, f))),
    ];
    for (const path of needed) expect(isIgnored(patterns, path), path).toBe(false);
  });
});
