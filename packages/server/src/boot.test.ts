import type * as v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';

const setFlags = vi.hoisted(() => vi.fn());
vi.mock('node:v8', async (original) => ({
  ...(await original<typeof v8>()),
  setFlagsFromString: setFlags,
}));

const { tuneGarbageCollector } = await import('./boot');

describe('tuneGarbageCollector', () => {
  afterEach(() => {
    setFlags.mockClear();
    delete process.env.KEYWAY_V8_PRETENURING;
  });

  it("turns V8's allocation-site pretenuring off (it kept request objects alive until full collections)", () => {
    tuneGarbageCollector();
    expect(setFlags).toHaveBeenCalledWith('--no-allocation-site-pretenuring');
  });

  it('keeps V8 default with KEYWAY_V8_PRETENURING=on (to compare)', () => {
    process.env.KEYWAY_V8_PRETENURING = 'on';
    tuneGarbageCollector();
    expect(setFlags).not.toHaveBeenCalledWith('--no-allocation-site-pretenuring');
  });

  it('lets the old generation grow 30% between full collections unless told otherwise', () => {
    tuneGarbageCollector({});
    expect(setFlags).toHaveBeenCalledWith('--heap-growing-percent=30');
    setFlags.mockClear();
    tuneGarbageCollector({ KEYWAY_V8_HEAP_GROWING_PERCENT: '75' });
    expect(setFlags).toHaveBeenCalledWith('--heap-growing-percent=75');
    setFlags.mockClear();
    tuneGarbageCollector({ KEYWAY_V8_HEAP_GROWING_PERCENT: '0' });
    expect(setFlags.mock.calls.flat().filter((f) => String(f).startsWith('--heap-growing'))).toEqual([]);
  });

  it('refuses a growing percentage that is not a whole number from 0 to 400, naming the variable', () => {
    for (const bad of ['-5', '1.5', 'lots', '401', '30 --allow-natives-syntax']) {
      expect(() => tuneGarbageCollector({ KEYWAY_V8_HEAP_GROWING_PERCENT: bad })).toThrow(
        /KEYWAY_V8_HEAP_GROWING_PERCENT/,
      );
    }
    expect(setFlags.mock.calls.flat().filter((f) => String(f).startsWith('--heap-growing'))).toEqual([]);
  });
});
