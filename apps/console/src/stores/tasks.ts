import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import type { Task } from '../api/schemas';

/** Task kinds an operator starts or cares about; internal housekeeping jobs stay out of the indicator. */
export const VISIBLE_TASK_TYPES = new Set(['key-import', 'key-validate', 'key-recheck', 'gpt-load-import']);

const FAST_MS = 1000;
const SLOW_MS = 5000;

export interface TrackedTask {
  id: string;
  /** What the operator sees, e.g. "Importing keys into openai". */
  label: string;
  /** The group the task works on, so that group's page can show its progress. */
  groupId: number | null;
  task: Task | null;
}

type DoneHandler = (task: Task) => void;

export function isFinished(task: Task): boolean {
  return task.state === 'succeeded' || task.state === 'failed';
}

/**
 * Running background tasks: the active list (polled every few seconds while logged in) and the tasks this
 * browser started (polled every second until they finish, then their handler runs once).
 */
export const useTasksStore = defineStore('tasks', () => {
  const active = ref<Task[]>([]);
  const tracked = ref<TrackedTask[]>([]);
  const handlers = new Map<string, DoneHandler>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let ticking = false;

  const visible = computed(() => active.value.filter((t) => VISIBLE_TASK_TYPES.has(t.type)));
  const busy = computed(() => visible.value.length > 0 || tracked.value.length > 0);

  async function refreshTracked(): Promise<void> {
    for (const entry of [...tracked.value]) {
      let task: Task;
      try {
        task = await api.tasks.get(entry.id);
      } catch {
        continue; // a blip; try again on the next tick
      }
      entry.task = task;
      if (!isFinished(task)) continue;
      tracked.value = tracked.value.filter((t) => t.id !== entry.id);
      const handler = handlers.get(entry.id);
      handlers.delete(entry.id);
      handler?.(task);
    }
  }

  async function tick(): Promise<void> {
    // One poll at a time: a task started while a poll is in flight is picked up by that poll.
    if (ticking) return;
    ticking = true;
    try {
      active.value = await api.tasks.active();
    } catch {
      // Polling is best-effort; a 401 is handled by the API hooks.
    }
    try {
      await refreshTracked();
    } finally {
      ticking = false;
    }
  }

  function schedule(): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () => {
        void tick().finally(schedule);
      },
      busy.value ? FAST_MS : SLOW_MS,
    );
  }

  function start(): void {
    if (running) return;
    running = true;
    void tick().finally(schedule);
  }

  function stop(): void {
    running = false;
    if (timer) clearTimeout(timer);
    timer = null;
    active.value = [];
  }

  /** Follows a task this browser started; `onDone` runs once when it succeeds or fails. */
  function track(id: string, label: string, onDone?: DoneHandler, groupId: number | null = null): void {
    if (!tracked.value.some((t) => t.id === id)) tracked.value.push({ id, label, groupId, task: null });
    if (onDone) handlers.set(id, onDone);
    // Poll now rather than at the next (slow) tick, so progress shows at once.
    if (running) void tick().finally(schedule);
  }

  function progressOf(id: string): Task | null {
    return tracked.value.find((t) => t.id === id)?.task ?? active.value.find((t) => t.id === id) ?? null;
  }

  return { active, tracked, visible, busy, start, stop, track, progressOf };
});
