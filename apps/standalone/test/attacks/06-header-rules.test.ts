/**
 * Issue 11 item 6: header rules are validated on write. A rule with a CR/LF, NUL or non-Latin-1 value, or one that
 * sets or removes a framing/hop-by-hop header, is refused with 400 at the rule's path; the group keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

interface Problem {
  path: string;
  message: string;
}

describe('attack 06: header rules that cannot be sent', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let group: CreatedGroup;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-06' });
    group = await createGroupWithKey(target, { name: 'ruled' });
  });
  afterAll(() => target?.close());

  const rules: Array<[string, Record<string, string>, string, RegExp]> = [
    [
      'CR/LF',
      { action: 'set', key: 'X-Tenant', value: 'a\r\nX-Injected: 1' },
      'headerRules.0.value',
      /line breaks/,
    ],
    ['a bare LF', { action: 'set', key: 'X-Tenant', value: 'a\nb' }, 'headerRules.0.value', /line breaks/],
    ['NUL', { action: 'set', key: 'X-Tenant', value: 'a\u0000b' }, 'headerRules.0.value', /NUL/],
    [
      'a character above U+00FF',
      { action: 'set', key: 'X-Tenant', value: '\u2603' },
      'headerRules.0.value',
      /Latin-1/,
    ],
    [
      'Host',
      { action: 'set', key: 'Host', value: 'internal.example' },
      'headerRules.0.key',
      /framing or hop-by-hop/,
    ],
    [
      'HOST',
      { action: 'set', key: 'HOST', value: 'internal.example' },
      'headerRules.0.key',
      /framing or hop-by-hop/,
    ],
    [
      'Transfer-Encoding',
      { action: 'set', key: 'Transfer-Encoding', value: 'chunked' },
      'headerRules.0.key',
      /framing/,
    ],
    [
      'transfer-encoding',
      { action: 'set', key: 'transfer-encoding', value: 'chunked' },
      'headerRules.0.key',
      /framing/,
    ],
    ['Content-Length', { action: 'set', key: 'Content-Length', value: '0' }, 'headerRules.0.key', /framing/],
    ['removing Host', { action: 'remove', key: 'host' }, 'headerRules.0.key', /framing/],
    ['Connection', { action: 'set', key: 'Connection', value: 'close' }, 'headerRules.0.key', /hop-by-hop/],
    [
      'Proxy-Authorization',
      { action: 'set', key: 'Proxy-Authorization', value: 'x' },
      'headerRules.0.key',
      /hop-by-hop/,
    ],
  ];

  it.each(rules)(
    'a rule with %s is refused with 400 at its path, on create and on update',
    async (_what, rule, path, message) => {
      const created = await target.admin.post('/groups', {
        name: 'refused',
        channel: 'openai',
        upstreams: [{ url: target.upstreamUrl }],
        headerRules: [rule],
      });
      expect(created.status).toBe(400);
      expect(created.body.error?.code).toBe('VALIDATION_FAILED');
      const details = (created.body.error as unknown as { details: Problem[] }).details;
      expect(details.map((d) => d.path)).toEqual([path]);
      expect(details[0]?.message).toMatch(message);

      const patched = await target.admin.patch(`/groups/${group.id}`, { headerRules: [rule] });
      expect(patched.status).toBe(400);
      expect((patched.body.error as unknown as { details: Problem[] }).details[0]?.path).toBe(path);
    },
  );

  it('the group was never changed: requests still succeed and its key stays active', async () => {
    target.fake?.reset();
    for (let i = 0; i < 5; i++) expect((await chat(group)).status).toBe(200);
    const fake = target.fake;
    expect(fake?.requests).toHaveLength(5);
    for (const r of fake?.requests ?? []) {
      expect(r.headers['x-injected']).toBeUndefined();
      expect(r.headers['x-tenant']).toBeUndefined();
    }
    const keys = await target.admin.get(`/groups/${group.id}/keys`);
    expect((keys.body['items'] as Array<{ status: string }>).map((k) => k.status)).toEqual(['active']);
  });

  it('a valid rule (Latin-1, a variable) is stored and sent', async () => {
    const rule = { action: 'set', key: 'X-Team', value: 'caf\u00e9 ${GROUP_NAME}' };
    expect((await target.admin.patch(`/groups/${group.id}`, { headerRules: [rule] })).status).toBe(200);
    target.fake?.reset();
    expect((await chat(group)).status).toBe(200);
    expect(target.fake?.requests[0]?.headers['x-team']).toBe('caf\u00e9 ruled');
  });
});
