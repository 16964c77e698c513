import type { LookupAddress } from 'node:dns';
import type { Resolve } from '@keyway/server';
import { startBystander } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { validationDispatcher } from './egress-dispatcher';
import type { ValidationGroup } from './groups';
import { blamesKey, validateKey } from './validate-key';

const KEY = 'sk-validate-egress-0123456789abcdef';

/** A local listener that records connections and headers (it would accept the key as valid). */
function listener() {
  return startBystander('{"data":[]}');
}

const open: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

const group = (url: string): ValidationGroup => ({
  name: 'g',
  channel: 'openai',
  upstreams: [{ url, weight: 1 }],
  testModel: 'gpt-4.1-nano',
  validationEndpoint: '',
  headerRules: [],
  config: {},
});

const deps = (settings: { egressBlockPrivate?: boolean } = {}, extra: Record<string, unknown> = {}) => ({
  loadSettings: () => Promise.resolve(settings),
  ...extra,
});

describe('key validation and the egress policy', () => {
  it('reaches a loopback upstream by default', async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(deps(), group(`http://127.0.0.1:${up.port}`), KEY, { timeoutMs: 2000 });
    expect(r.valid).toBe(true);
  });

  it('with egressBlockPrivate, never connects to a loopback upstream and does not blame the key', async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(
      deps({ egressBlockPrivate: true }),
      group(`http://127.0.0.1:${up.port}`),
      KEY,
      {
        timeoutMs: 2000,
      },
    );
    expect(r).toMatchObject({ valid: false, statusCode: 0, class: 'upstream' });
    expect(r.error).toMatch(/egress refused: .*egressBlockPrivate/);
    expect(blamesKey(r)).toBe(false);
    expect(up.seen.connections).toBe(0);
  });

  it('refuses a name that resolves to the metadata address when connecting', async () => {
    const resolve = ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => {
      const entry: LookupAddress = { address: '169.254.169.254', family: 4 };
      setImmediate(() => (o.all ? cb(null, [entry]) : cb(null, entry.address, 4)));
    }) as unknown as Resolve;
    const dispatcher = validationDispatcher({ blockPrivate: false, resolve });
    const r = await validateKey(deps({}, { dispatcher }), group('http://rebind.example'), KEY, {
      timeoutMs: 2000,
    });
    expect(r.valid).toBe(false);
    expect(r.error).toMatch(/169\.254\.169\.254 is a cloud metadata service address/);
    expect(r.error).not.toContain(KEY);
  });

  it("refuses this process's own /proxy port", async () => {
    const up = await listener();
    open.push(up);
    const r = await validateKey(deps({}, { selfPort: up.port }), group(`http://localhost:${up.port}`), KEY, {
      timeoutMs: 2000,
    });
    expect(r.error).toMatch(/this gateway itself/);
    expect(up.seen.connections).toBe(0);
  });
});
