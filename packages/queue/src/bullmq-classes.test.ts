import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import { describe, expect, it } from 'vitest';
import { loadBullClass, loadBullmq } from './bullmq-connection';

const index = createRequire(import.meta.url)('bullmq') as typeof BullMQ;

describe("BullMQ's classes", () => {
  it("are the very classes of BullMQ's index, loaded from their own modules", () => {
    const bull = loadBullmq();
    expect(bull.Queue).toBe(index.Queue);
    expect(bull.Worker).toBe(index.Worker);
    expect(bull.UnrecoverableError).toBe(index.UnrecoverableError);
  });

  it("never load the index (and its PostgreSQL backend) while each class's own module is there", () => {
    const asked: string[] = [];
    const real = createRequire(import.meta.url);
    const requireModule = (id: string): unknown => {
      asked.push(id);
      return real(id);
    };
    expect(loadBullClass('Queue', requireModule)).toBe(index.Queue);
    expect(loadBullClass('UnrecoverableError', requireModule)).toBe(index.UnrecoverableError);
    expect(asked).toEqual([
      'bullmq/dist/cjs/classes/queue',
      'bullmq/dist/cjs/classes/errors/unrecoverable-error',
    ]);
  });

  it('fall back to the index when a later BullMQ keeps a class elsewhere', () => {
    const asked: string[] = [];
    const requireModule = (id: string): unknown => {
      asked.push(id);
      if (id !== 'bullmq')
        throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      return index;
    };
    expect(loadBullClass('Worker', requireModule)).toBe(index.Worker);
    // A module that is there but no longer holds the class: the index too.
    expect(loadBullClass('Queue', (id) => (id === 'bullmq' ? index : {}))).toBe(index.Queue);
    expect(asked).toEqual(['bullmq/dist/cjs/classes/worker', 'bullmq']);
  });
});
