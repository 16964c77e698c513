import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../testing/fetch-stub';
import { useTasksStore } from './tasks';

const task = (state: string, processed: number) => ({
  id: 'key-import:1',
  type: 'key-import',
  state,
  processed,
  total: 20_000,
  result: state === 'succeeded' ? { added: 20_000, ignored: 0, total: 20_000 } : null,
  error: null,
});

beforeEach(() => {
  vi.useFakeTimers();
  setActivePinia(createPinia());
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('tasks store', () => {
  it('polls a started task every second until it finishes, then runs its handler once', async () => {
    const states = [task('running', 5000), task('running', 15_000), task('succeeded', 20_000)];
    const stub = stubFetch({
      'GET /api/tasks': json({ items: [] }),
      // The id is URL-encoded in the path.
      'GET /api/tasks/key-import%3A1': () => json(states.length > 1 ? states.shift() : states[0]),
    });
    vi.stubGlobal('fetch', stub.fetch);
    const store = useTasksStore();
    const done = vi.fn();
    store.start();
    store.track('key-import:1', 'Importing keys into openai', done);
    await vi.advanceTimersByTimeAsync(0);
    expect(store.progressOf('key-import:1')?.processed).toBe(5000);
    expect(store.busy).toBe(true);
    await vi.advanceTimersByTimeAsync(2100);
    expect(done).toHaveBeenCalledOnce();
    expect(done.mock.calls[0]?.[0]).toMatchObject({ state: 'succeeded', result: { added: 20_000 } });
    expect(store.tracked).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(done).toHaveBeenCalledOnce();
    store.stop();
  });

  it('shows running operator tasks from /api/tasks?active=true but not internal housekeeping', async () => {
    const stub = stubFetch({
      'GET /api/tasks': json({
        items: [
          { ...task('running', 1), id: 'a', type: 'key-validate' },
          { ...task('running', 1), id: 'b', type: 'request-logs' },
        ],
      }),
    });
    vi.stubGlobal('fetch', stub.fetch);
    const store = useTasksStore();
    store.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.visible.map((t) => t.id)).toEqual(['a']);
    expect(stub.calls[0]?.url).toBe('/api/tasks?active=true');
    store.stop();
  });
});
