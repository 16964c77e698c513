import { describe, expect, it } from 'vitest';
import type { LogPort } from '@keyway/core';
import { QueueUnavailableError } from './bullmq-connection';
import { BullJobQueue } from './bullmq-job-queue';
import { freePort } from './tcp-proxy';

function recordingLogger(): LogPort & { messages: string[] } {
  const messages: string[] = [];
  const push = (_obj: object, msg: string): void => void messages.push(msg);
  return { messages, info: push, warn: push, error: push };
}

describe('BullJobQueue without Redis', () => {
  it('rejects enqueue, status and list with QueueUnavailableError instead of hanging', async () => {
    const logger = recordingLogger();
    const queue = new BullJobQueue({
      connection: `redis://127.0.0.1:${await freePort()}`,
      timeoutMs: 200,
      closeTimeoutMs: 200,
      logger,
    });
    queue.process('key-recheck', () => Promise.resolve(null));
    queue.schedule('log-retention', 60_000, {});
    const started = Date.now();
    await expect(queue.enqueue('key-recheck', {})).rejects.toThrow(QueueUnavailableError);
    await expect(queue.status('key-recheck.1')).rejects.toThrow(/Redis is unavailable \(status\)/);
    await expect(queue.list()).rejects.toThrow(QueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logger.messages).toContain('job queue: Redis error');
    await queue.close();
    await queue.close();
    expect(logger.messages).toContain(
      'job queue: Redis did not answer while closing, dropped the connections',
    );
    await expect(queue.enqueue('key-recheck', {})).rejects.toThrow(/closed/);
  });

  it('refuses a retention shorter than the hour the port promises', () => {
    expect(() => new BullJobQueue({ connection: 'redis://127.0.0.1:1', keepFinishedMs: 60_000 })).toThrow(
      RangeError,
    );
  });
});
