import type { FakeUpstream } from '@keyway/testing';
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import type { adminClient } from '../harness';
import { until } from './browser';
import type { PageMonitor } from './browser';

/** A group with keys and a little traffic (one request failing over), set up through the API and the SDK. */
export async function seedTraffic(
  base: string,
  admin: ReturnType<typeof adminClient>,
  fake: FakeUpstream,
  name: string,
): Promise<{ groupId: number; proxyKey: string }> {
  const proxyKey = `${name}-proxy-Key-6a1f9c3e7b2d`;
  const keys = [`sk-${name}-upstream-aaaaaaaa1111`, `sk-${name}-upstream-bbbbbbbb2222`];
  const created = await admin.post('/groups', {
    name,
    displayName: 'A group with a rather long display name for narrow screens',
    channel: 'openai',
    upstreams: [{ url: fake.url, weight: 1 }],
    proxyKeys: [proxyKey],
  });
  if (created.status !== 201) throw new Error(`group not created: ${JSON.stringify(created.body)}`);
  const groupId = created.body.id as number;
  await admin.post(`/groups/${groupId}/keys`, { keys: keys.join('\n') });
  fake.setKeyBehaviour(keys[0] as string, { status: 500, times: 1, message: 'upstream exploded' });
  const client = new OpenAI({ apiKey: proxyKey, baseURL: `${base}/proxy/${name}/v1`, maxRetries: 0 });
  for (let i = 0; i < 2; i++)
    await client.chat.completions.create({
      model: 'gpt-4.1-nano',
      messages: [{ role: 'user', content: 'hi' }],
    });
  await until('the requests to be logged', async () => {
    const logs = await admin.get(`/logs?groupId=${groupId}`);
    return logs.body.total === 2;
  });
  return { groupId, proxyKey };
}

/** Logs in through the login form, starting from `path` (a visit without a session goes to the login page). */
export async function logIn(page: Page, monitor: PageMonitor, base: string, authKey: string, path = '/') {
  monitor.expect('GET', '/api/auth/session', 401);
  await page.goto(`${base}${path}`);
  await page.waitForURL((u) => u.pathname === '/login');
  await page.getByTestId('login-key').fill(authKey);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((u) => u.pathname === path);
}
