import { computed, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import type { Task } from '../../api/schemas';
import { useTasksStore } from '../../stores/tasks';
import { errorText } from '../../ui/feedback';
import { gptLoadImportResultSchema, sourceFingerprint } from './gpt-load-import';
import type { GptLoadImportResult } from './gpt-load-import';

/**
 * Settings → Import from GPT-Load: a dry run first (what would be created, what cannot be mapped), then the
 * import itself with the same inputs, both as tasks whose progress the card follows.
 */
export function useGptLoadImport() {
  const { t } = useI18n();
  const tasks = useTasksStore();
  const mode = ref<'file' | 'url'>('file');
  const file = ref<File | null>(null);
  const databaseUrl = ref('');
  const encryptionKey = ref('');
  const running = ref<{ id: string; dryRun: boolean } | null>(null);
  const result = ref<{ dryRun: boolean; data: GptLoadImportResult } | null>(null);
  const error = ref('');
  /** The inputs of the last successful dry run. */
  const planned = ref<string | null>(null);

  const fingerprint = computed(() =>
    sourceFingerprint(mode.value, file.value, databaseUrl.value, encryptionKey.value),
  );
  const ready = computed(() =>
    mode.value === 'file' ? file.value !== null : databaseUrl.value.trim() !== '',
  );
  const canImport = computed(
    () => ready.value && planned.value === fingerprint.value && running.value === null,
  );
  const progress = computed(() => (running.value ? tasks.progressOf(running.value.id) : null));

  function finished(dryRun: boolean, at: string, task: Task): void {
    running.value = null;
    if (task.state === 'failed') {
      error.value = task.error ?? t('gptLoadImport.failed');
      return;
    }
    const parsed = gptLoadImportResultSchema.safeParse(task.result);
    if (!parsed.success) {
      error.value = t('gptLoadImport.badResult');
      return;
    }
    result.value = { dryRun, data: parsed.data };
    planned.value = dryRun ? at : null;
  }

  async function start(dryRun: boolean): Promise<void> {
    if (!ready.value || running.value) return;
    error.value = '';
    result.value = null;
    const at = fingerprint.value;
    const source =
      mode.value === 'file' && file.value ? { file: file.value } : { databaseUrl: databaseUrl.value.trim() };
    try {
      const id = await api.imports.gptLoad(source, encryptionKey.value, dryRun);
      running.value = { id, dryRun };
      tasks.track(id, t(dryRun ? 'gptLoadImport.dryRunLabel' : 'gptLoadImport.importLabel'), (task) =>
        finished(dryRun, at, task),
      );
    } catch (e) {
      error.value = errorText(e);
    }
  }

  function pick(f: File | null): void {
    file.value = f;
    planned.value = null;
  }

  return {
    mode,
    file,
    databaseUrl,
    encryptionKey,
    running,
    result,
    error,
    ready,
    canImport,
    progress,
    pick,
    dryRun: () => start(true),
    run: () => start(false),
  };
}
