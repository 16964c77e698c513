import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'tasks-admin-Key-8c7d6e5f4a3b';

describe('background tasks in standalone', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let admin: ReturnType<typeof adminClient>;
  let groupId: number;
  const tmp = tempDir('tasks');

  beforeAll(async () => {
    fake = await startFakeUpstream();
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const g = await admin.post('/groups', {
      name: 'tasks',
      channel: 'openai',
      upstreams: [{ url: fake.url }],
      testModel: 'gpt-x',
    });
    groupId = g.body.id as number;
  });
  afterAll(async () => {
    await app.proc.stop();
    await fake.close();
    tmp.cleanup();
  });

  async function waitTask(taskId: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const t = await admin.get(`/tasks/${taskId}`);
      if (t.body.state === 'succeeded' || t.body.state === 'failed' || Date.now() > deadline) return t.body;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('imports more than 10,000 keys as a task with progress', async () => {
    const keys = Array.from(
      { length: 10_050 },
      (_, i) => `sk-import-${String(i).padStart(8, '0')}-xxxxxxxxxxxx`,
    );
    const res = await admin.post(`/groups/${groupId}/keys`, { keys: keys.join('\n') });
    expect(res.status).toBe(202);
    const task = await waitTask(res.body.taskId as string);
    expect(task).toMatchObject({
      state: 'succeeded',
      processed: 10_050,
      total: 10_050,
      result: { added: 10_050, ignored: 0, total: 10_050 },
    });
    const list = await admin.get(`/groups/${groupId}/keys?pageSize=1`);
    expect(list.body.total).toBe(10_050);
  }, 90_000);

  it('tests one key now and updates its health', async () => {
    fake.setKeyBehaviour('sk-import-00000000-xxxxxxxxxxxx', {
      status: 401,
      message: 'Incorrect API key provided',
    });
    const list = await admin.get(`/groups/${groupId}/keys?search=sk-import-00000000-xxxxxxxxxxxx`);
    const id = (list.body.items as Array<{ id: number }>)[0]?.id as number;
    const bad = await admin.post(`/keys/${id}/test`);
    expect(bad.body).toMatchObject({ valid: false, statusCode: 401 });
    expect(JSON.stringify(bad.body)).not.toContain('sk-import-00000000-xxxxxxxxxxxx');
    expect((await admin.get(`/groups/${groupId}/keys?status=invalid`)).body.total).toBe(1);

    fake.setKeyBehaviour('sk-import-00000000-xxxxxxxxxxxx', undefined);
    const validate = await admin.post(`/groups/${groupId}/keys/validate`, { status: 'invalid' });
    expect(validate.status).toBe(202);
    const task = await waitTask(validate.body.taskId as string);
    expect(task.state).toBe('succeeded');
    expect((await admin.get(`/groups/${groupId}/keys?status=invalid`)).body.total).toBe(0);
    const active = await admin.get('/tasks?active=true');
    expect(Array.isArray(active.body.items)).toBe(true);
    expect((await admin.get('/tasks/nope')).status).toBe(404);
  });
});
