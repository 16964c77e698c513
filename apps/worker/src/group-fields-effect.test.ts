// The group fields only key validation reads (issue 11 item 10: every field has an effect, with a test):
// `testModel` and `validationEndpoint` as stored decide the request the invalid-key re-check sends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recheckInvalidKeys } from './recheck';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';

describe('validation fields of a group', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('re-checks a key with the stored testModel on the default endpoint', async () => {
    const group = await f.addGroup();
    await f.db.group.update({ where: { id: group.id }, data: { testModel: 'gpt-effect-model' } });
    await f.addKey(group.id, 'sk-effect-0123456789abcdef', { status: 'invalid', failureCount: 3 });

    expect((await recheckInvalidKeys(f.deps)).restored).toBe(1);

    const [req] = f.fake.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v1/chat/completions');
    expect(JSON.parse(req?.body ?? '{}')).toMatchObject({ model: 'gpt-effect-model' });
  });

  it('re-checks a key on the stored validationEndpoint instead of the channel default', async () => {
    const group = await f.addGroup();
    await f.db.group.update({ where: { id: group.id }, data: { validationEndpoint: '/v1/models' } });
    await f.addKey(group.id, 'sk-effect-0123456789abcdef', { status: 'invalid', failureCount: 3 });

    expect((await recheckInvalidKeys(f.deps)).restored).toBe(1);

    const [req] = f.fake.requests;
    expect(req?.method).toBe('GET');
    expect(req?.path).toBe('/v1/models');
  });
});
