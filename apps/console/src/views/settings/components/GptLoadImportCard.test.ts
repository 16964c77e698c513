import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../../testing/fetch-stub';
import { byTestId, mountWithApp, settle, typeInto } from '../../../testing/mount';
import { useTasksStore } from '../../../stores/tasks';
import GptLoadImportCard from './GptLoadImportCard.vue';

vi.setConfig({ testTimeout: 20_000 });

const DSN = 'postgres://gl:dsn-password-0001@db.internal:5432/gptload';
const result = (created: number) => ({
  groups: { created, skipped: 1 },
  keys: { added: 1200, ignored: 3, undecryptable: 0 },
  proxyKeys: { imported: 2, weak: 1 },
  settings: {
    applied: ['maxRetries', 'requestTimeout'],
    ignored: [{ key: 'request_log_write_interval_minutes', reason: 'Keyway writes logs in batches itself' }],
  },
  warnings: ['Group openai: proxy key sk-1***2345 is weak (imported so clients keep working; replace it)'],
});
let stub: ReturnType<typeof stubFetch>;
let runs: Array<Record<string, unknown> | FormData>;

beforeEach(() => {
  runs = [];
  stub = stubFetch({
    'GET /api/tasks': json({ items: [] }),
    'POST /api/import/gpt-load': (c) => {
      runs.push(c.body as Record<string, unknown>);
      return json({ taskId: `gpt-load-import:${runs.length}` }, 202);
    },
    'GET /api/tasks/gpt-load-import%3A1': json({
      id: 'gpt-load-import:1',
      type: 'gpt-load-import',
      state: 'succeeded',
      processed: 1,
      total: 1,
      result: result(4),
      error: null,
    }),
    'GET /api/tasks/gpt-load-import%3A2': json({
      id: 'gpt-load-import:2',
      type: 'gpt-load-import',
      state: 'succeeded',
      processed: 1,
      total: 1,
      result: result(4),
      error: null,
    }),
  });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  useTasksStore().stop();
  document.body.innerHTML = '';
});

async function open() {
  mountWithApp(GptLoadImportCard);
  useTasksStore().start();
  await settle();
}

const disabled = (id: string) => byTestId<HTMLButtonElement>(id).hasAttribute('disabled');

describe('GPT-Load import card', () => {
  it('runs dry first, shows the plan with what cannot be mapped, then imports the same inputs', async () => {
    await open();
    byTestId('gpt-load-import-mode').querySelectorAll('input')[1]?.click();
    await settle();
    expect(disabled('gpt-load-import-run')).toBe(true);
    await typeInto(byTestId('gpt-load-import-url'), DSN);
    await typeInto(byTestId('gpt-load-import-key'), 'gl-encryption-key');
    byTestId('gpt-load-import-dry-run').click();
    await settle(20);
    expect(runs[0]).toEqual({ databaseUrl: DSN, encryptionKey: 'gl-encryption-key', dryRun: true });
    const plan = byTestId('gpt-load-import-result').textContent ?? '';
    expect(plan).toContain('Dry run');
    expect(plan).toContain('4 created, 1 skipped');
    expect(plan).toContain('1200 added, 3 ignored');
    expect(byTestId('gpt-load-import-ignored').textContent).toContain('request_log_write_interval_minutes');
    expect(byTestId('gpt-load-import-warnings').textContent).toContain('weak');
    expect(disabled('gpt-load-import-run')).toBe(false);

    // Changing an input asks for a new dry run.
    await typeInto(byTestId('gpt-load-import-key'), 'other-key');
    expect(disabled('gpt-load-import-run')).toBe(true);
    await typeInto(byTestId('gpt-load-import-key'), 'gl-encryption-key');
    byTestId('gpt-load-import-run').click();
    await settle(20);
    expect(runs[1]).toEqual({ databaseUrl: DSN, encryptionKey: 'gl-encryption-key', dryRun: false });
    expect(byTestId('gpt-load-import-result').textContent).toContain('Imported');
    expect(document.body.textContent).not.toContain('dsn-password-0001');
  });

  it('uploads a SQLite file as multipart', async () => {
    await open();
    const input = byTestId<HTMLInputElement>('gpt-load-import-file');
    const file = new File([new Uint8Array([83, 81, 76])], 'gpt-load.db');
    Object.defineProperty(input, 'files', { value: [file] });
    input.dispatchEvent(new Event('change'));
    await settle();
    byTestId('gpt-load-import-dry-run').click();
    await settle(20);
    const form = runs[0];
    expect(form).toBeInstanceOf(FormData);
    expect((form as FormData).get('dryRun')).toBe('true');
    expect(((form as FormData).get('file') as File).name).toBe('gpt-load.db');
    expect((form as FormData).has('encryptionKey')).toBe(false);
  });

  it('shows a refusal (a wrong encryption key) next to the form and offers no import', async () => {
    stub.on('POST /api/import/gpt-load', json({ taskId: 'gpt-load-import:9' }, 202));
    stub.on(
      'GET /api/tasks/gpt-load-import%3A9',
      json({
        id: 'gpt-load-import:9',
        type: 'gpt-load-import',
        state: 'failed',
        processed: 0,
        total: 0,
        result: null,
        error: 'The encryption key does not decrypt the keys of this GPT-Load database; nothing was imported',
      }),
    );
    await open();
    byTestId('gpt-load-import-mode').querySelectorAll('input')[1]?.click();
    await settle();
    await typeInto(byTestId('gpt-load-import-url'), DSN);
    byTestId('gpt-load-import-dry-run').click();
    await settle(20);
    expect(byTestId('gpt-load-import-error').textContent).toContain('does not decrypt');
    expect(disabled('gpt-load-import-run')).toBe(true);
  });

  it('shows an API refusal of the request itself', async () => {
    stub.on('POST /api/import/gpt-load', apiError(400, 'VALIDATION_FAILED', 'Not a GPT-Load database'));
    await open();
    byTestId('gpt-load-import-mode').querySelectorAll('input')[1]?.click();
    await settle();
    await typeInto(byTestId('gpt-load-import-url'), DSN);
    byTestId('gpt-load-import-dry-run').click();
    await settle(10);
    expect(byTestId('gpt-load-import-error').textContent).toContain('Not a GPT-Load database');
  });
});
