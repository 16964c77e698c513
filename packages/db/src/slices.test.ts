import { describe, expect, it } from 'vitest';
import { adaptiveBatch, createPacer, mapSliced } from './slices';

describe('time slicing', () => {
  it('maps a long list with turns of the event loop in between, in order', async () => {
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const out = await mapSliced(
      Array.from({ length: 40 }, (_, i) => i),
      (n) => {
        spin(1);
        return n * 2;
      },
      createPacer(4),
    );
    clearInterval(timer);
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    expect(turns).toBeGreaterThan(3);
  });

  it('sizes batches to the time target, growing at most twice per batch and shrinking at once', () => {
    const batch = adaptiveBatch({ initial: 100, targetMs: 4, min: 10, max: 1000 });
    batch.record(100, 20); // 0.2 ms a row: 20 rows fit in 4 ms
    expect(batch.size()).toBe(20);
    for (let i = 0; i < 20; i++) batch.record(batch.size(), batch.size() * 0.001);
    expect(batch.size()).toBe(1000);
    batch.record(1000, 1000);
    expect(batch.size()).toBeLessThan(100);
  });
});
