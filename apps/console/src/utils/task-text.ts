import type { Task } from '../api/schemas';

type Translate = (key: string, values?: Record<string, unknown>) => string;

/** 0–100 progress of a task; a finished one is 100 even when it reported nothing. */
export function taskPercent(task: Task): number {
  if (task.state === 'succeeded') return 100;
  if (task.total <= 0) return 0;
  return Math.min(100, Math.round((task.processed / task.total) * 100));
}

export function taskTypeLabel(type: string, t: Translate): string {
  switch (type) {
    case 'key-import':
      return t('tasks.types.import');
    case 'key-validate':
      return t('tasks.types.validate');
    case 'key-recheck':
      return t('tasks.types.recheck');
    case 'gpt-load-import':
      return t('gptLoadImport.importLabel');
    default:
      return type;
  }
}
