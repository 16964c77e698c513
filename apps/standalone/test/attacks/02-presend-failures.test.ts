/**
 * Issue 11 item 2: a failure before a byte reaches an upstream is never charged to a key. A header rule with a bad
 * value once made every request 502 and marked every key invalid without contacting the upstream.
 */
import { join } from 'node:path';
import { createPrismaClient } from '@keyway/db';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from '../harness';
import { chat, createGroupWithKey, randomSecret } from './support';
import type { CreatedGroup } from './support';

const RULE_SECRET = 'static-tenant-token-7d1c9e';

describe('attack 02: configuration that cannot be sent', { timeout: 120_000 }, () => {
  let fake: FakeUpstream;
  let tmp: ReturnType<typeof tempDir>;
  let proc: ManagedProcess;
  let admin: ReturnType<typeof adminClient>;
  let url: string;
  let group: CreatedGroup;
  let other: CreatedGroup;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('attack-02');
    const authKey = randomSecret('admin-');
    const app = await startStandalone(tmp.dir, { AUTH_KEY: authKey });
    ({ proc, url } = app);
    admin = adminClient(url, authKey);
    const target = { url, admin, upstreamUrl: fake.url };
    group = await createGroupWithKey(target, { name: 'ruled' });
    other = await createGroupWithKey(target, { name: 'other' });
    // Stored straight in the database, as data written before the API validated header rules would be.
    const db = createPrismaClient(`file:${join(tmp.dir, 'keyway.db')}`);
    try {
      await db.prisma.group.update({
        where: { id: group.id },
        data: { headerRules: [{ action: 'set', key: 'X-Tenant', value: `${RULE_SECRET}\r\nX-Injected: 1` }] },
      });
    } finally {
      await db.close();
    }
    // Any configuration change makes the process reload its snapshot from the database.
    expect((await admin.patch(`/groups/${other.id}`, { description: 'reload' })).status).toBe(200);
  });
  afterAll(async () => {
    await proc?.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  it('every request answers 500 GATEWAY_CONFIG naming the group and field; the key stays active; upstream never contacted', async () => {
    fake.reset();
    for (let i = 0; i < 20; i++) {
      const res = await chat(group);
      expect(res.status).toBe(500);
      const error = (JSON.parse(res.text) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('gateway_config');
      expect(error.message).toContain("Group 'ruled'");
      expect(error.message).toContain('headerRules[0].value');
      expect(res.text).not.toContain(RULE_SECRET);
    }
    expect(fake.requests).toHaveLength(0);
    const stats = (await admin.get(`/groups/${group.id}`)).body['keyStats'];
    expect(stats).toMatchObject({ total: 1, active: 1, invalid: 0 });
    // The other group of the same process is unaffected.
    expect((await chat(other)).status).toBe(200);
  });

  it('the dashboard names the group and field, and the log says so once, never with the value', async () => {
    const warnings = (await admin.get('/dashboard/warnings')).body as unknown as Array<{
      type: string;
      message: string;
    }>;
    const found = warnings.filter((w) => w.type === 'GATEWAY_CONFIG');
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toContain("'ruled'");
    expect(found[0]?.message).toContain('headerRules[0].value');
    const lines = proc.lines.filter((l) => l.includes('GATEWAY_CONFIG'));
    expect(lines).toHaveLength(1);
    expect(proc.lines.join('\n')).not.toContain(RULE_SECRET);
  });
});
