import type { Group } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';
import { createGroupOk, refusal } from './testing/group-requests';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const create = (body: Record<string, unknown>): Promise<Group> => createGroupOk(fx, body);

const claude = (name: string, extra: Record<string, unknown> = {}) =>
  standardGroup(name, {
    channel: 'anthropic',
    upstreams: [{ url: 'https://api.anthropic.example', weight: 1 }],
    ...extra,
  });

describe('group translate (format translation)', () => {
  it('stores translate, shows it, sends it to the gateway and keeps it on copy', async () => {
    const g = await create(claude('claude', { translate: { from: ['openai'] } }));
    expect(g.translate).toEqual({ from: ['openai'] });
    const plain = await create(standardGroup('plain'));
    expect(plain.translate).toEqual({ from: [] });

    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.groups.find((s) => s.id === g.id)?.translate).toEqual(['openai']);
    expect(snap.groups.find((s) => s.id === plain.id)?.translate).toEqual([]);

    const copy = await fx.req<Group>('POST', `/api/groups/${g.id}/copy`, {});
    expect(copy.status, copy.text).toBe(201);
    expect(copy.json.translate).toEqual({ from: ['openai'] });
  });

  it('checks a PATCH of translate alone against the stored channel', async () => {
    const openai = await create(standardGroup('oa'));
    expect(
      refusal(
        await fx.req<ErrorBody>('PATCH', `/api/groups/${openai.id}`, { translate: { from: ['openai'] } }),
      ),
    ).toEqual(['translate.from.0: the openai channel translates only from anthropic, not openai']);
    const ok = await fx.req<Group>('PATCH', `/api/groups/${openai.id}`, {
      translate: { from: ['anthropic'] },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.translate).toEqual({ from: ['anthropic'] });
  });

  it('checks a channel change against the stored translate, and accepts both changed together', async () => {
    const g = await create(claude('claude', { translate: { from: ['openai'] } }));
    // An openai group cannot translate from openai: the stored setting no longer fits.
    expect(refusal(await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, { channel: 'openai' }))).toEqual([
      'translate.from.0: the openai channel translates only from anthropic, not openai',
    ]);
    expect((await fx.req<Group>('GET', `/api/groups/${g.id}`)).json.channel).toBe('anthropic');
    // The Responses API translates from nothing.
    expect(
      refusal(await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, { channel: 'openai-response' })),
    ).toEqual(['translate.from.0: the openai-response channel does not translate (from openai)']);
    const both = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, {
      channel: 'gemini',
      translate: { from: ['openai', 'anthropic'] },
    });
    expect(both.status, both.text).toBe(200);
    expect(both.json.translate).toEqual({ from: ['openai', 'anthropic'] });
    const off = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, {
      channel: 'openai',
      translate: { from: [] },
    });
    expect(off.status, off.text).toBe(200);
  });
});
