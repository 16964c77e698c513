// .github/workflows: one path-filtered workflow per app, sharing app-ci.yml, which tests the app and everything
// it uses and pushes its image to ghcr.io from main only.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arr, obj, readYaml, root, workspaceClosure, workspacePackages } from './support';

const DIR = '.github/workflows';
const APPS: Record<string, string[]> = {
  gateway: ['@keyway/gateway'],
  // The console is built into the control-plane image.
  'control-plane': ['@keyway/control-plane', '@keyway/console'],
  worker: ['@keyway/worker'],
};
const packages = workspacePackages();

function workflow(file: string): Record<string, unknown> {
  return obj(readYaml(`${DIR}/${file}`));
}

/** `on:` (the yaml library reads the bare key `on` as a string, as GitHub does). */
function triggers(wf: Record<string, unknown>): Record<string, unknown> {
  return obj(wf.on);
}

/** Every step of every job. */
function steps(wf: Record<string, unknown>): Record<string, unknown>[] {
  return Object.values(obj(wf.jobs)).flatMap((job) => arr(obj(job).steps).map(obj));
}

describe.each(Object.entries(APPS))('.github/workflows/%s.yml', (app, names) => {
  const wf = workflow(`${app}.yml`);
  const push = obj(triggers(wf).push);
  const pr = obj(triggers(wf).pull_request);
  const paths = arr(push.paths).map(String);

  it('builds and pushes from main, and checks pull requests, on the same paths', () => {
    expect(push.branches).toEqual(['main']);
    expect(arr(pr.paths)).toEqual(paths);
  });

  it('runs when the app, a workspace package it uses, the lockfile or its Dockerfile changes', () => {
    const dirs = new Set(names.flatMap((name) => workspaceClosure(name, packages).map((p) => p.dir)));
    const needed = [
      ...[...dirs].map((dir) => `${dir}/**`),
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'package.json',
      'turbo.json',
      'tsconfig.base.json',
      '.dockerignore',
      'deploy/prune-deps.mjs',
      `deploy/${app}/Dockerfile`,
      ...(dirs.has('packages/db') ? ['prisma/**'] : []),
      ...['tsup.app.ts'].filter((f) => existsSync(join(root, f))),
    ];
    for (const path of needed) expect(paths, path).toContain(path);
  });

  it('names no path that does not exist', () => {
    for (const path of paths) expect(existsSync(join(root, path.replace(/\/\*\*$/, ''))), path).toBe(true);
  });

  it('tests the app and its packages, then builds its own image, through app-ci.yml', () => {
    const jobs = Object.values(obj(wf.jobs)).map(obj);
    expect(jobs.length).toBe(1);
    expect(jobs[0]!.uses).toBe('./.github/workflows/app-ci.yml');
    const inputs = obj(jobs[0]!.with);
    expect(inputs.app).toBe(app);
    expect(existsSync(join(root, `deploy/${String(inputs.app)}/Dockerfile`))).toBe(true);
    expect(String(inputs.filters).split(/\s+/).sort()).toEqual(names.map((n) => `--filter=${n}...`).sort());
    expect(obj(jobs[0]!.permissions).packages).toBe('write');
  });
});

describe('.github/workflows/app-ci.yml', () => {
  const wf = workflow('app-ci.yml');
  const runs = steps(wf)
    .map((s) => (typeof s.run === 'string' ? s.run : ''))
    .join('\n');

  it('is a reusable workflow taking the app and its turbo filters', () => {
    const inputs = obj(obj(triggers(wf).workflow_call).inputs);
    expect(Object.keys(inputs).sort()).toEqual(['app', 'filters']);
  });

  it('installs from the lockfile and runs lint, typecheck and test with the services the tests use', () => {
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs).toContain('pnpm turbo run lint typecheck test ${{ inputs.filters }}');
    for (const port of ['6379:6379', '4222:4222', '5432:5432', '3306:3306'])
      expect(runs).toContain(`-p ${port}`);
    expect(runs).toMatch(/nats:\S+ --jetstream/);
  });

  it("pushes the app's image to ghcr.io only for a push to main, after the tests passed", () => {
    const image = obj(obj(wf.jobs).image);
    expect(image.needs).toBe('test');
    const build = steps({ jobs: { image } }).find((s) =>
      String(s.uses).startsWith('docker/build-push-action@'),
    );
    const options = obj(build?.with);
    expect(options.file).toBe('deploy/${{ inputs.app }}/Dockerfile');
    expect(options.context).toBe('.');
    expect(String(options.push)).toContain('env.PUSH');
    const push = String(obj(image.env).PUSH);
    expect(push).toContain("github.event_name == 'push'");
    expect(push).toContain("github.ref == 'refs/heads/main'");
    expect(runs).toContain('ghcr.io/');
    const login = steps({ jobs: { image } }).find((s) => String(s.uses).startsWith('docker/login-action@'));
    expect(login?.if).toBe("env.PUSH == 'true'");
  });
});

describe('every workflow', () => {
  it('pins the actions it uses to a version', () => {
    for (const file of readdirSync(join(root, DIR)).filter((f) => f.endsWith('.yml'))) {
      for (const step of steps(workflow(file))) {
        if (typeof step.uses !== 'string' || step.uses.startsWith('./')) continue;
        expect(step.uses, file).toMatch(/@(v\d+(\.\d+)*|[0-9a-f]{40})$/);
      }
    }
  });
});
