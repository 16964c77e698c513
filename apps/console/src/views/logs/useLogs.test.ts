import { describe, expect, it } from 'vitest';
import { emptyFilter, toQuery } from './useLogs';

describe('log filters', () => {
  it('asks the API for one access key by id, and for every key when none is picked', () => {
    expect(toQuery({ ...emptyFilter(), accessKeyId: 12 })).toMatchObject({ accessKeyId: 12 });
    expect(toQuery(emptyFilter()).accessKeyId).toBeUndefined();
  });
});
