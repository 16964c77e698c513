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
    expect(setFlags).not.toHaveBeenCalled();
  });
});
