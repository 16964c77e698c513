import type { Http } from './http';
import { taskListSchema, taskSchema } from './schemas';
import type { Task } from './schemas';

/** `/api/tasks`: background work and its progress. Polling is silent: a blip must not toast every second. */
export function createTasksApi(http: Http) {
  return {
    active: async (): Promise<Task[]> =>
      (await http.json('GET', '/api/tasks', taskListSchema, { query: { active: true }, silent: true })).items,
    get: (id: string): Promise<Task> =>
      http.json('GET', `/api/tasks/${encodeURIComponent(id)}`, taskSchema, { silent: true }),
  };
}
