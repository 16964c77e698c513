import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findWrk, WRK_MISSING } from './load';

const dir = mkdtempSync(join(tmpdir(), 'bench-findwrk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finding the load generator', () => {
  it('finds an executable wrk on the PATH', () => {
    const bin = join(dir, 'wrk');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    expect(findWrk(['/nonexistent', dir].join(delimiter))).toBe(bin);
  });

  it('finds nothing when wrk is not on the PATH, and the message says how to install it', () => {
    expect(findWrk(['/nonexistent', ''].join(delimiter))).toBeNull();
    expect(WRK_MISSING).toMatch(/apt-get install wrk/);
  });
});
