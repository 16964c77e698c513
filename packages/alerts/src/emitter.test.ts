import type { AlertInput } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { createAlertEmitter } from './emitter';
import { keyChangeEvent } from './key-change';

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('createAlertEmitter', () => {
  it('passes an alert on once per subject per interval, asynchronously', async () => {
    let t = 1000;
    const sent: AlertInput[] = [];
    const sink = createAlertEmitter({
      send: (i) => Promise.resolve(void sent.push(i)),
      now: () => t,
      minIntervalMs: 5000,
    });
    for (let i = 0; i < 100; i++) sink.emit('group.exhausted', 'group:a', { group: 'a', message: 'no key' });
    sink.emit('group.exhausted', 'group:b', { group: 'b', message: 'no key' });
    expect(sent).toHaveLength(0);
    await flush();
    expect(sent.map((s) => s.subject)).toEqual(['group:a', 'group:b']);
    expect(sent[0]).toMatchObject({
      event: 'group.exhausted',
      group: 'a',
      details: {},
      time: new Date(1000).toISOString(),
    });
    t += 5000;
    sink.emit('group.exhausted', 'group:a', { message: 'again' });
    await flush();
    expect(sent).toHaveLength(3);
  });

  it('never throws nor rejects when sending fails', async () => {
    const warnings: string[] = [];
    const sink = createAlertEmitter({
      send: () => Promise.reject(new Error('redis down')),
      logger: { warn: (_o, msg) => void warnings.push(msg ?? '') },
    });
    expect(() => sink.emit('upstream.down', 'upstream:x', { message: 'down' })).not.toThrow();
    await flush();
    await flush();
    expect(warnings).toEqual(['could not queue an alert']);
  });
});

describe('keyChangeEvent', () => {
  it('tells an auth invalidation from a blacklisting by failure threshold', () => {
    expect(keyChangeEvent({ status: 'invalid', cause: 'auth' })).toBe('key.invalid');
    expect(keyChangeEvent({ status: 'invalid', cause: 'upstream' })).toBe('key.blacklisted');
    expect(keyChangeEvent({ status: 'invalid', cause: 'manual' })).toBeNull();
    expect(keyChangeEvent({ status: 'invalid', cause: 'validation' })).toBeNull();
    expect(keyChangeEvent({ status: 'cooling', cause: 'rate' })).toBeNull();
  });
});
