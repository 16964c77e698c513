import { describe, expect, it } from 'vitest';
import { ProtoBatchEncoder, attributeMemoSize, clearAttributeMemo } from './otlp-encode';
import type { AttributeValue, FinishedSpan, TraceAttributes } from './otlp-encode';

const origin = { resource: { 'service.name': 'keyway-test' }, scopeName: 'keyway', scopeVersion: '' };

function span(
  n: number,
  attributes: TraceAttributes,
  extra: Array<string | AttributeValue> = [],
): FinishedSpan {
  return {
    t0: 0x0af76519,
    t1: 0x16cd76f8 + n,
    t2: 0xa5a4d2e0,
    t3: 0xffffffff,
    s0: 0x80000000 + n,
    s1: n,
    p0: n % 2 === 0 ? 0 : 0xb7ad6b71,
    p1: n % 2 === 0 ? 0 : 0x69203331,
    traceState: n % 3 === 0 ? 'rojo=00f067aa0ba902b7' : '',
    name: n % 4 === 0 ? 'chat gpt-4o-mini' : `POST /proxy/{group}/* ${'é'.repeat(n)}`,
    kind: 1 + (n % 3),
    startMs: 1_796_562_866_123.25 + n * 1000.5,
    endMs: 1_796_562_866_136.5 + n * 1000.5,
    attributes,
    extra,
    error: n % 5 === 0,
  };
}

/** Spans like the gateway's, and values that must not be kept (long, multi-byte, empty, odd numbers). */
function spans(): FinishedSpan[] {
  const out: FinishedSpan[] = [];
  for (let n = 0; n < 40; n++) {
    out.push(
      span(
        n,
        {
          'gen_ai.provider.name': 'openai',
          'gen_ai.system': n % 2 ? 'openai' : 'gcp.gemini',
          'gen_ai.request.model': ['gpt-4o-mini', 'modèle-é', '', 'x'.repeat(64), 'y'.repeat(65)][n % 5],
          'server.address': '127.0.0.1',
          'keyway.group.name': `group-${n % 3}`,
          'keyway.request.id': `request-${n}`,
          // A KeyValue over 127 bytes (two-byte length) whose value is still short enough to keep.
          [`keyway.${'k'.repeat(70)}`]: 'v'.repeat(60),
          'emoji.value': '😀'.repeat(n % 3),
          'long.value': 'é'.repeat(1500),
          'keyway.key.id': [0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 40][n % 10],
          neg: -n,
          d: n + 0.5,
          b: n % 2 === 0,
          skip: undefined,
        },
        ['http.response.status_code', 200 + n, 'gen_ai.request.model', n % 2 ? 'gpt-4o-mini' : 'ü', 'neg', 0],
      ),
    );
  }
  return out;
}

function encode(memoize: boolean, batch: FinishedSpan[]): Buffer {
  const encoder = new ProtoBatchEncoder(origin, memoize);
  for (const s of batch) encoder.add(s);
  return Buffer.concat(encoder.take());
}

describe('ProtoBatchEncoder attribute memo', () => {
  it('writes the same bytes as encoding every attribute afresh, cold and warm', () => {
    clearAttributeMemo();
    const plain = encode(false, spans());
    expect(attributeMemoSize()).toBe(0);
    const cold = encode(true, spans());
    expect(attributeMemoSize()).toBeGreaterThan(0);
    const warm = encode(true, spans());
    expect(cold.equals(plain)).toBe(true);
    expect(warm.equals(plain)).toBe(true);
  });

  it('keeps no long value and stays bounded under a flood of distinct values', () => {
    clearAttributeMemo();
    const encoder = new ProtoBatchEncoder(origin);
    for (let n = 0; n < 5000; n++) {
      encoder.add(span(n, { model: `m-${n}`, long: `${'z'.repeat(65)}${n % 2}`, group: `g-${n % 4}` }));
      if (encoder.count === 512) encoder.take();
      expect(attributeMemoSize()).toBeLessThanOrEqual(512);
    }
    // The unique key stopped being kept after its first misses; the repeating one is kept.
    expect(attributeMemoSize()).toBeLessThan(64);
    const flood = Buffer.concat(encoder.take());
    expect(flood.length).toBeGreaterThan(0);
  });
});

describe('ProtoBatchEncoder batches', () => {
  it('writes a batch a little larger than the one before it into room it already has, the same bytes', () => {
    const encoder = new ProtoBatchEncoder(origin);
    const plain = new ProtoBatchEncoder(origin);
    const batch = (e: ProtoBatchEncoder, more: number): Buffer[] => {
      for (let i = 0; i < 12; i++) for (const s of spans()) e.add(s);
      for (const s of spans().slice(0, more)) e.add(s);
      return e.take();
    };
    const first = batch(encoder, 0);
    const second = batch(encoder, 10);
    expect(first[1]?.length).toBeGreaterThan(64 * 1024);
    // Buffer#equals: a deep comparison of 100 KB is slow. Same bytes as a fresh encoder's.
    expect(Buffer.concat(first).equals(Buffer.concat(batch(plain, 0)))).toBe(true);
    expect(Buffer.concat(second).equals(Buffer.concat(batch(new ProtoBatchEncoder(origin), 10)))).toBe(true);
    // Sized from the batch before with room to spare: not grown (doubled, and the batch copied) at its last spans.
    const spansPart = second[1] as Buffer;
    expect(spansPart.buffer.byteLength).toBeLessThan(spansPart.length * 1.5);
  });

  it('writes later batches into the memory of batches given back, the same bytes, never into a pooled buffer', () => {
    const encoder = new ProtoBatchEncoder(origin);
    const batch = (e: ProtoBatchEncoder): Buffer[] => {
      for (let i = 0; i < 12; i++) for (const s of spans()) e.add(s);
      return e.take();
    };
    const fresh = Buffer.concat(batch(new ProtoBatchEncoder(origin)));
    const first = batch(encoder);
    const firstMemory = (first[1] as Buffer).buffer;
    // The batch after `first` was started when `first` was taken; the one after that reuses first's memory.
    encoder.recycle(first);
    const second = batch(encoder);
    const third = batch(encoder);
    expect((third[1] as Buffer).buffer).toBe(firstMemory);
    expect(Buffer.concat(second).equals(fresh)).toBe(true);
    expect(Buffer.concat(third).equals(fresh)).toBe(true);
    // A part in node's shared 8 KB pool (a small Buffer) is never taken: other buffers live in it.
    const pooled = Buffer.from('abc');
    const other = new ProtoBatchEncoder(origin);
    other.recycle([Buffer.alloc(1), pooled]);
    for (const s of spans().slice(0, 2)) other.add(s);
    other.take();
    for (const s of spans().slice(0, 2)) other.add(s);
    expect((other.take()[1] as Buffer).buffer).not.toBe(pooled.buffer);
    expect(pooled.toString()).toBe('abc');
  });
});
