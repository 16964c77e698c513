import type { RequestLogRecord } from '@keyway/contracts';
import { keyLimitsSchema } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import type { KeyPacer } from './context';
import { recordKeyPacing } from './record-sinks';
import { compileRuntime } from './runtime';

const runtime = compileRuntime(
  buildSnapshot({
    groups: [
      { name: 'other' },
      {
        name: 'member',
        modelRedirects: { smart: 'gpt-4.1' },
        keyLimits: keyLimitsSchema.parse({ default: { tpm: 1000 } }),
      },
    ],
  }).snapshot,
);

function recorder(): KeyPacer & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    admit: () => ({ ok: true }),
    observe: () => undefined,
    record: (group, keyId, model, tokens) => void calls.push([group.name, keyId, model, tokens]),
  };
}

const record = (extra: Partial<RequestLogRecord>): RequestLogRecord =>
  ({
    groupId: 2,
    keyId: 9,
    model: 'smart',
    promptTokens: 100,
    completionTokens: 20,
    ...extra,
  }) as RequestLogRecord;

describe('recordKeyPacing', () => {
  it("adds a served request's tokens to the serving key under the model sent upstream", () => {
    const pacer = recorder();
    recordKeyPacing(pacer, runtime, record({}));
    expect(pacer.calls).toEqual([['member', 9, 'gpt-4.1', 120]]);
  });

  it('charges nothing without a key, without tokens, or for a group that is gone', () => {
    const pacer = recorder();
    recordKeyPacing(pacer, runtime, record({ keyId: null }));
    recordKeyPacing(pacer, runtime, record({ promptTokens: null, completionTokens: null }));
    recordKeyPacing(pacer, runtime, record({ groupId: 99 }));
    expect(pacer.calls).toEqual([]);
  });
});
