import { describe, expect, it, vi } from 'vitest';
import { generateProxyKey } from './proxy-key';

describe('generateProxyKey', () => {
  it('draws its randomness from crypto.getRandomValues', () => {
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues');
    generateProxyKey();
    expect(spy).toHaveBeenCalledOnce();
    spy.mockRestore();
  });

  it('makes sk- plus 48 URL-safe characters', () => {
    expect(generateProxyKey()).toMatch(/^sk-[A-Za-z0-9_-]{48}$/);
  });

  it('maps every byte value onto the 64-letter alphabet without bias', () => {
    const bytes = (b: Uint8Array<ArrayBuffer>) => b.map((_, i) => i * 4);
    // 0, 4, 8, … 252: each 6-bit value lands on a distinct letter, spread over the whole alphabet.
    const key = generateProxyKey(64, bytes);
    expect(new Set(key.slice(3)).size).toBe(16);
    expect(key.startsWith('sk-AEIM')).toBe(true);
  });

  it('never repeats itself', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateProxyKey()));
    expect(keys.size).toBe(200);
  });
});
