import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from './port';
import { subjectName, type Payload } from './subjects';

/** How the contract drives one adapter. */
export interface BusContractOptions {
  /** Unique per test file; the contract derives a fresh prefix per bus group from it. */
  prefix: string;
  /**
   * Sends `data` as-is on the wire subject (prefix included), bypassing validation — what a buggy or
   * out-of-date replica would send.
   */
  publishRaw(wireSubject: string, data: unknown): void | Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; adapters backed by a server deliver asynchronously. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A valid `keys.state` payload, with `overrides`. */
function keyState(overrides: Partial<Payload<'keys.state'>> = {}): Payload<'keys.state'> {
  return {
    keyId: 7,
    groupId: 3,
    status: 'cooling',
    failureCount: 2,
    cooldownUntil: 1_700_000_060_000,
    lastError: '429 Too Many Requests',
    cause: 'upstream-429',
    at: 1_700_000_000_000,
    origin: 'replica-a',
    ...overrides,
  };
}

/**
 * The behaviour every Bus adapter must have; run by each adapter's own test file. `make(prefix)` returns a
 * new bus on a transport shared by every bus the same test makes (like replicas on one server).
 */
export function busContract(
  name: string,
  make: (prefix: string) => Bus | Promise<Bus>,
  options: BusContractOptions,
): void {
  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    let counter = 0;
    /** A fresh prefix for one test, so leftovers of an earlier test can never arrive. */
    const nextPrefix = (): string => `${options.prefix}_${(counter += 1)}`;
    const bus = async (prefix: string): Promise<Bus> => {
      const created = await make(prefix);
      open.push(created);
      return created;
    };

    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers a published payload to every subscriber, on every bus of the prefix', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const seenA: unknown[] = [];
      const seenB1: unknown[] = [];
      const seenB2: unknown[] = [];
      a.subscribe('config.changed', (p) => void seenA.push(p));
      b.subscribe('config.changed', (p) => void seenB1.push(p));
      b.subscribe('config.changed', (p) => void seenB2.push(p));
      await Promise.all([a.flush(), b.flush()]);

      await a.publish('config.changed', { version: 42 });
      await until(() => seenA.length + seenB1.length + seenB2.length === 3, 'three deliveries');
      expect([seenA, seenB1, seenB2]).toEqual([[{ version: 42 }], [{ version: 42 }], [{ version: 42 }]]);
      expect(b.stats().delivered).toBe(2);
      expect(a.stats().published).toBe(1);
    });

    it('delivers each subject only to its own subscribers', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const config: unknown[] = [];
      const keys: unknown[] = [];
      const states: unknown[] = [];
      b.subscribe('config.changed', (p) => void config.push(p));
      b.subscribe('keys.changed', (p) => void keys.push(p));
      b.subscribe('keys.state', (p) => void states.push(p));
      await b.flush();

      await a.publish('keys.changed', { groupId: 5, version: 9 });
      await a.publish('keys.state', keyState());
      await until(() => keys.length === 1 && states.length === 1, 'keys.changed and keys.state');
      await a.flush();
      await sleep(50);
      expect(config).toEqual([]);
      expect(keys).toEqual([{ groupId: 5, version: 9 }]);
      expect(states).toEqual([keyState()]);
    });

    it('keeps buses with different prefixes apart', async () => {
      const prefix = nextPrefix();
      const other = `${prefix}_other`;
      const [publisher, sameSide, otherSide] = [await bus(prefix), await bus(prefix), await bus(other)];
      const same: unknown[] = [];
      const foreign: unknown[] = [];
      sameSide.subscribe('config.changed', (p) => void same.push(p));
      otherSide.subscribe('config.changed', (p) => void foreign.push(p));
      await Promise.all([sameSide.flush(), otherSide.flush()]);

      await publisher.publish('config.changed', { version: 1 });
      await until(() => same.length === 1, 'delivery on the publishing prefix');
      await sleep(50);
      expect(foreign).toEqual([]);

      await otherSide.publish('config.changed', { version: 2 });
      await until(() => foreign.length === 1, 'delivery on the other prefix');
      await sleep(50);
      expect(same).toEqual([{ version: 1 }]);
      expect(foreign).toEqual([{ version: 2 }]);
    });

    it('stops delivering to a handler once it unsubscribed, and keeps delivering to the others', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const gone: unknown[] = [];
      const kept: unknown[] = [];
      const unsubscribe = b.subscribe('config.changed', (p) => void gone.push(p));
      b.subscribe('config.changed', (p) => void kept.push(p));
      await b.flush();

      await a.publish('config.changed', { version: 1 });
      await until(() => gone.length === 1 && kept.length === 1, 'first delivery');
      unsubscribe();
      await b.flush();
      await a.publish('config.changed', { version: 2 });
      await until(() => kept.length === 2, 'second delivery to the remaining handler');
      await sleep(50);
      expect(gone).toEqual([{ version: 1 }]);
    });

    it('does not deliver messages already queued for a handler once it unsubscribed', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const seen: number[] = [];
      const all: number[] = [];
      const unsubscribe = b.subscribe('config.changed', ({ version }) => {
        seen.push(version);
        unsubscribe();
      });
      b.subscribe('config.changed', ({ version }) => void all.push(version));
      await b.flush();

      // Published without waiting in between, so the later messages are queued before the first is handled.
      await Promise.all([1, 2, 3].map((version) => a.publish('config.changed', { version })));
      await until(() => all.length === 3, 'all deliveries to the other handler');
      await sleep(20);
      expect(seen).toEqual([1]);
    });

    it('drops and counts malformed payloads without ending the subscription', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const seen: unknown[] = [];
      b.subscribe('keys.state', (p) => void seen.push(p));
      await b.flush();

      const wire = subjectName(prefix, 'keys.state');
      await options.publishRaw(wire, { keyId: 'seven' });
      await options.publishRaw(wire, keyState({ status: 'melted' as 'active' }));
      await options.publishRaw(wire, 'just a string');
      await options.publishRaw(wire, null);
      await a.publish('keys.state', keyState({ keyId: 8 }));

      await until(() => seen.length === 1, 'the valid message after the malformed ones');
      expect(seen).toEqual([keyState({ keyId: 8 })]);
      expect(b.stats().malformed).toBe(4);
    });

    it('refuses to publish a payload that does not match the subject schema', async () => {
      const a = await bus(nextPrefix());
      await expect(a.publish('keys.changed', { groupId: 0, version: 1 })).rejects.toThrow(/keys\.changed/);
      await expect(
        a.publish('keys.state', { ...keyState(), origin: undefined } as unknown as Payload<'keys.state'>),
      ).rejects.toThrow(/keys\.state/);
      expect(a.stats().published).toBe(0);
    });

    it('keeps delivering after a handler throws or rejects', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const seen: number[] = [];
      b.subscribe('config.changed', async ({ version }) => {
        seen.push(version);
        if (version === 1) throw new Error('sync-style failure');
        if (version === 2) {
          await sleep(1);
          throw new Error('async failure');
        }
      });
      await b.flush();

      for (const version of [1, 2, 3]) await a.publish('config.changed', { version });
      await until(() => seen.length === 3, 'all three deliveries');
      expect(seen).toEqual([1, 2, 3]);
      await until(() => b.stats().handlerErrors === 2, 'two handler errors counted');
    });

    it('preserves the order of one publisher and handles one message at a time per subscription', async () => {
      const prefix = nextPrefix();
      const [a, b] = [await bus(prefix), await bus(prefix)];
      const seen: number[] = [];
      let running = 0;
      let overlapped = false;
      b.subscribe('keys.changed', async ({ version }) => {
        running += 1;
        if (running > 1) overlapped = true;
        // Later messages would overtake earlier ones if the bus ran handlers concurrently.
        await sleep(version % 3 === 0 ? 2 : 0);
        seen.push(version);
        running -= 1;
      });
      await b.flush();

      const versions = Array.from({ length: 100 }, (_, i) => i + 1);
      for (const version of versions) await a.publish('keys.changed', { groupId: 1, version });
      await until(() => seen.length === versions.length, 'all deliveries', 10_000);
      expect(seen).toEqual(versions);
      expect(overlapped).toBe(false);
    });

    it('does not run a handler inside the publish call', async () => {
      const prefix = nextPrefix();
      const a = await bus(prefix);
      const seen: unknown[] = [];
      a.subscribe('config.changed', (p) => void seen.push(p));
      await a.flush();
      const publishing = a.publish('config.changed', { version: 1 });
      expect(seen).toEqual([]);
      await publishing;
      await until(() => seen.length === 1, 'delivery to the publishing bus itself');
    });

    it('reports itself connected and refuses to publish once closed', async () => {
      const a = await bus(nextPrefix());
      const statuses: boolean[] = [];
      a.onStatus((s) => statuses.push(s.connected));
      expect(statuses).toEqual([true]);
      await a.close();
      await until(() => statuses.at(-1) === false, 'a disconnected status after close');
      await expect(a.publish('config.changed', { version: 1 })).rejects.toThrow(/closed/);
    });
  });
}
