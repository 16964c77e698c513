import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, tempDir } from './harness';

const readme = readFileSync(
  join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'README.md'),
  'utf8',
);

/** The first ```sh block after the walkthrough heading. */
function walkthroughScript(): string {
  const section = readme.slice(readme.indexOf('## Walkthrough'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m?.[1]) throw new Error('no walkthrough script in README.md');
  return m[1];
}

describe('the README walkthrough', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  const tmp = tempDir('readme');

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // No AUTH_KEY: the walkthrough reads the generated one from data/auth-key, as a new user would.
    app = await startStandalone(tmp.dir, { AUTH_KEY: undefined, DATA_DIR: join(tmp.dir, 'data') });
  });
  afterAll(async () => {
    await app.proc.stop();
    await fake.close();
    tmp.cleanup();
  });

  it('runs verbatim (only the OpenAI URL points at the fake upstream) and answers the chat call', async () => {
    const script = walkthroughScript()
      .replace('export KW=http://localhost:3001', `export KW=${app.url}`)
      .replaceAll('https://api.openai.com', fake.url);
    // Asynchronous: the fake upstream runs in this process and must keep answering while the script runs.
    const { stdout: out } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: tmp.dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(out).toContain('"name":"openai"');
    expect(out).toContain('{"added":2,"ignored":0,"total":2}');
    expect(out).toContain('Hello from fake upstream');
    expect(fake.keysSeen()).toEqual(['sk-your-first-key']);
  });
});
