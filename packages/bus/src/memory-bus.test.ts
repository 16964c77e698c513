import { describe, expect, it } from 'vitest';
import { busContract } from './contract';
import { MemoryBus, MemoryHub } from './memory-bus';

// One hub for the file: buses made by the contract talk to each other, the prefixes keep tests apart.
const hub = new MemoryHub();

busContract('MemoryBus', (prefix) => new MemoryBus({ prefix, hub }), {
  prefix: 'memory',
  publishRaw: (wireSubject, data) => hub.send(wireSubject, data),
});

describe('MemoryBus', () => {
  it('uses the kw prefix and a private hub by default', async () => {
    const a = new MemoryBus();
    const b = new MemoryBus();
    const seen: unknown[] = [];
    expect(a.prefix).toBe('kw');
    b.subscribe('config.changed', (p) => void seen.push(p));
    a.subscribe('config.changed', (p) => void seen.push(p));
    await a.publish('config.changed', { version: 3 });
    await a.close();
    await b.close();
    expect(seen).toEqual([{ version: 3 }]);
  });

  it('gives each subscriber its own copy of the payload', async () => {
    const bus = new MemoryBus();
    const copies: { version: number }[] = [];
    bus.subscribe('config.changed', (p) => {
      copies.push(p);
      p.version = 99;
    });
    bus.subscribe('config.changed', (p) => void copies.push(p));
    const sent = { version: 1 };
    await bus.publish('config.changed', sent);
    await bus.close();
    expect(sent).toEqual({ version: 1 });
    expect(copies[1]).toEqual({ version: 1 });
  });

  it('rejects a prefix with wildcards or empty tokens', () => {
    expect(() => new MemoryBus({ prefix: 'kw.*' })).toThrow(/invalid bus prefix/);
    expect(() => new MemoryBus({ prefix: 'kw..x' })).toThrow(/invalid bus prefix/);
    expect(() => new MemoryBus({ prefix: '' })).toThrow(/invalid bus prefix/);
  });
});
