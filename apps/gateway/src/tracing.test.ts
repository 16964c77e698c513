import type { Attempt, RequestLogRecord } from '@keyway/contracts';
import type { TraceSpan, Tracing } from '@keyway/observability';
import { describe, expect, it } from 'vitest';
import type { ForwardContext } from './context';
import type { GroupRuntime } from './runtime';
import {
  closeRequestTrace,
  endAttemptSpan,
  endRequestTrace,
  operationOf,
  startAttemptSpan,
  startRequestTrace,
} from './tracing';

describe('operationOf', () => {
  it("names each channel's generation calls as the GenAI conventions do", () => {
    expect(operationOf('/v1/chat/completions')).toBe('chat');
    expect(operationOf('/v1/messages')).toBe('chat');
    expect(operationOf('/v1/responses')).toBe('chat');
    expect(operationOf('/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(operationOf('/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toBe('generate_content');
    expect(operationOf('/v1/embeddings')).toBe('embeddings');
    expect(operationOf('/v1beta/models/text-embedding-004:embedContent')).toBe('embeddings');
    expect(operationOf('/v1/completions')).toBe('text_completion');
  });

  it('names no operation for calls that generate nothing (model lists)', () => {
    expect(operationOf('/v1/models')).toBeUndefined();
    expect(operationOf('/v1beta/models')).toBeUndefined();
  });
});

describe('an unsampled request', () => {
  /** A Tracing whose spans are never sampled, counting every attribute object and name it is handed. */
  function unsampledTracing(propagateUpstream: boolean, recordingFrom = Infinity) {
    const seen = { attributeObjects: 0, attributes: 0, names: 0, spans: 0 };
    const span = (recording = false): TraceSpan => ({
      setAttribute: () => void seen.attributes++,
      setAttributes: () => void seen.attributeObjects++,
      updateName: () => void seen.names++,
      setError: () => {},
      end: () => {},
      spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0, traceState: '' }),
      isRecording: () => recording,
    });
    const tracing: Tracing = {
      enabled: true,
      propagateUpstream,
      startSpan: (_name, _kind, attributes) => {
        seen.spans++;
        if (attributes !== undefined) seen.attributeObjects++;
        return span(seen.spans >= recordingFrom);
      },
      headersOf: () => ({}),
      traced: (_name, _attributes, job) => job(),
      shutdown: () => Promise.resolve(),
    };
    return { tracing, seen };
  }

  const group = { name: 'g', provider: { id: 'openai' } } as unknown as GroupRuntime;
  const ctx = {
    req: { method: 'POST', url: '/v1/chat/completions', headers: {} },
    group,
    path: '/v1/chat/completions',
    requestId: 'r1',
    model: 'gpt-4o-mini',
  } as unknown as ForwardContext;
  const record = { statusCode: 502, groupName: 'g', retries: 0 } as unknown as RequestLogRecord;

  function serve(tracing: Tracing): void {
    const trace = startRequestTrace(tracing, ctx);
    startAttemptSpan(trace, ctx, group, 1, 'https://api.example.com', 'gpt-4o-mini');
    endAttemptSpan(trace, { statusCode: 502, class: 'upstream_5xx' } as unknown as Attempt);
    endRequestTrace(trace, record);
    closeRequestTrace(trace, 502);
  }

  it('builds no attribute object, sets no attribute and names no span', () => {
    const { tracing, seen } = unsampledTracing(false);
    serve(tracing);
    // The request's span only: an unsampled attempt's span would be read for nothing but propagation.
    expect(seen).toEqual({ attributeObjects: 0, attributes: 0, names: 0, spans: 1 });
  });

  it('still starts the attempt span whose context is propagated upstream', () => {
    const { tracing, seen } = unsampledTracing(true);
    serve(tracing);
    expect(seen).toEqual({ attributeObjects: 0, attributes: 0, names: 0, spans: 2 });
  });

  it('describes a propagated attempt that records, though its request span no longer does (it ended)', () => {
    const { tracing, seen } = unsampledTracing(true, 2);
    serve(tracing);
    // Named, its starting attributes, its status and class, and error.type (the attempt failed).
    expect(seen).toEqual({ attributeObjects: 1, attributes: 3, names: 1, spans: 2 });
  });
});
