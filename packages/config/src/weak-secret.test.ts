import { describe, expect, it } from 'vitest';
import { isWeakSecret } from './weak-secret';

describe('isWeakSecret', () => {
  it.each(['', 'short', 'kW9#mQ2$vL7@xR4'])('refuses %j as shorter than 16 characters', (v) => {
    expect(isWeakSecret(v)).toEqual({ level: 'refuse', reason: 'shorter than 16 characters' });
  });

  it.each([
    ['password12345678', 'password'],
    ['changeme-changeme-changeme', 'changeme'],
    ['my-keyway-admin-secret', 'keyway'],
    ['Letmein!Letmein!Letmein!', 'letmein'],
    ['qwerty-qwerty-123456', 'qwerty'],
    ['test-demo-default-key', 'default'],
  ])('refuses %j as made of common words', (v, word) => {
    const r = isWeakSecret(v);
    expect(r?.level).toBe('refuse');
    expect(r?.reason).toContain('common words');
    expect(r?.reason).toContain(`"${word}"`);
  });

  it.each([
    '9876543210987654321',
    'abcdefghijklmnopqrstu',
    'aaaaaaaaaaaaaaaaaaaa',
    'zyxwvu-987654-aaaa-1111',
  ])('refuses %j as sequences and repeats', (v) => {
    expect(isWeakSecret(v)).toMatchObject({
      level: 'refuse',
      reason: 'made mostly of sequences, repeats and separators',
    });
  });

  it('refuses a value with too few distinct characters', () => {
    expect(isWeakSecret('abababababababab1')).toEqual({
      level: 'refuse',
      reason: 'too few distinct characters',
    });
  });

  it('only warns about a 16–31 character value of fewer than 3 character classes', () => {
    expect(isWeakSecret('k9m2v7x4r8p3z6q1w5')).toMatchObject({ level: 'warn' });
    expect(isWeakSecret('KQMVXRPZWLJHGFDS')).toMatchObject({ level: 'warn' });
  });

  it.each([
    'kW9#mQ2$vL7@xR4!pZ',
    '3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e', // `openssl rand -hex 16`: 2 classes but long
    'Zx8vQ2mN7pL4kR9tW3yB6cF1hJ5gD0sA',
    'qBtest9mZ2vL7xR4pK8', // a common word inside an otherwise random value
  ])('accepts %j', (v) => {
    expect(isWeakSecret(v)).toBeNull();
  });
});
