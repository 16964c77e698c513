import { describe, expect, it } from 'vitest';
import { keysAddSchema, keysDeleteSchema, splitKeys } from './keys';

describe('splitKeys', () => {
  it.each([
    ['one per line', 'sk-a\nsk-b\nsk-c', ['sk-a', 'sk-b', 'sk-c']],
    ['Windows line ends', 'sk-a\r\nsk-b\r\n', ['sk-a', 'sk-b']],
    ['commas and semicolons', 'sk-a,sk-b;sk-c', ['sk-a', 'sk-b', 'sk-c']],
    ['mixed separators and blank runs', '  sk-a ,\n\n ; sk-b\t sk-c  ', ['sk-a', 'sk-b', 'sk-c']],
    ['empty text', '', []],
    ['only separators', ' ,;\n\t', []],
  ])('splits %s', (_name, input, keys) => {
    expect(splitKeys(input)).toEqual(keys);
  });

  it('drops duplicates, keeping the first position', () => {
    expect(splitKeys('sk-b sk-a sk-b sk-c sk-a')).toEqual(['sk-b', 'sk-a', 'sk-c']);
  });

  it('splits each element of an array as well', () => {
    expect(splitKeys(['sk-a', 'sk-b,sk-c', ' sk-a ', ''])).toEqual(['sk-a', 'sk-b', 'sk-c']);
  });

  it('keeps characters keys contain (dashes, underscores, dots, slashes, =)', () => {
    expect(splitKeys('sk-ant-api03-x_y.z/w+v==')).toEqual(['sk-ant-api03-x_y.z/w+v==']);
  });
});

describe('keysAddSchema and keysDeleteSchema', () => {
  it('accepts pasted text or an array of keys', () => {
    expect(keysAddSchema.parse({ keys: 'a\nb' })).toEqual({ keys: 'a\nb' });
    expect(keysAddSchema.parse({ keys: ['a', 'b'] })).toEqual({ keys: ['a', 'b'] });
    expect(keysAddSchema.safeParse({ keys: 'a', extra: 1 }).success).toBe(false);
  });

  it('deletes by value, by id or by state, but not a mix', () => {
    expect(keysDeleteSchema.safeParse({ keys: ['a'] }).success).toBe(true);
    expect(keysDeleteSchema.safeParse({ ids: [1, 2] }).success).toBe(true);
    expect(keysDeleteSchema.safeParse({ status: 'invalid' }).success).toBe(true);
    expect(keysDeleteSchema.safeParse({ ids: [] }).success).toBe(false);
    expect(keysDeleteSchema.safeParse({ ids: [1], status: 'invalid' }).success).toBe(false);
    expect(keysDeleteSchema.safeParse({ status: 'gone' }).success).toBe(false);
  });
});
