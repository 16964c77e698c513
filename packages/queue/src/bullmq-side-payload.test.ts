import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { LogPort } from '@keyway/core';
import { loadBullmq } from './bullmq-connection';
import type { StoredJob } from './bullmq-jobs';
import { bullProcessor } from './bullmq-processor';
import { SidePayloadError, sidePayloadKey, sidePayloadKeyOf, sidePayloadRef } from './bullmq-side-payload';

const silent: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('side payloads', () => {
  it('tells a reference from a payload', () => {
    const key = sidePayloadKey('kw', 'request-logs.1');
    expect(key).toBe('kw:payloads:request-logs.1');
    expect(sidePayloadKeyOf(sidePayloadRef(key))).toBe(key);
    expect(sidePayloadKeyOf(JSON.parse(JSON.stringify(sidePayloadRef(key))))).toBe(key);
    // Payloads of every job are objects with other fields, or no object at all.
    for (const data of [
      null,
      'kw:payloads:x',
      [key],
      { records: [] },
      { $payload: 1 },
      { $payload: key, records: [] },
      { columns: [], rows: [] },
    ])
      expect(sidePayloadKeyOf(data)).toBeNull();
  });

  describe('the processor reading a payload', () => {
    const job = { id: 'request-logs.1', data: sidePayloadRef('k'), attemptsMade: 0 } as unknown as StoredJob;
    const run = (payloadOf: () => Promise<unknown>) =>
      bullProcessor('key-recheck', () => Promise.resolve('ran'), {} as Queue, {
        logger: silent,
        running: new Set(),
        payloadOf,
      })(job);

    it('runs the handler with what payloadOf read', async () => {
      await expect(run(() => Promise.resolve({}))).resolves.toBe('ran');
    });

    it('fails for good when the payload is gone, not JSON or not valid', async () => {
      const { UnrecoverableError } = loadBullmq();
      await expect(run(() => Promise.reject(new SidePayloadError('gone')))).rejects.toBeInstanceOf(
        UnrecoverableError,
      );
      await expect(
        run(() => Promise.resolve().then(() => JSON.parse('{"records": [') as unknown)),
      ).rejects.toBeInstanceOf(UnrecoverableError);
      await expect(run(() => Promise.resolve({ settings: 'no' }))).rejects.toBeInstanceOf(UnrecoverableError);
    });

    it('leaves a Redis failure while reading it to the next attempt', async () => {
      const { UnrecoverableError } = loadBullmq();
      const error = await run(() => Promise.reject(new Error('Connection is closed.'))).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(UnrecoverableError);
      expect((error as Error).message).toBe('Connection is closed.');
    });
  });
});
