import { JsonBatchEncoder, ProtoBatchEncoder } from './otlp-encode';
import type { AttributeValue, FinishedSpan, TraceAttributes } from './otlp-encode';
import { OtlpExporter } from './otlp-exporter';
import { traceSettings } from './otel-settings';
import type { SamplerName } from './otel-settings';
import {
  INVALID_TRACE_ID,
  epochMs,
  formatTraceparent,
  hexWord,
  parseTracestate,
  randomWord,
  readTraceparent,
  traceparentOf,
  wordAt,
} from './trace-context';
import type { SpanContext } from './trace-context';

export type { TraceAttributes } from './otlp-encode';
export type { SpanContext } from './trace-context';

/**
 * The tracing switches (the shape of `@keyway/config`'s `otelEnv`, parsed): on when an OTLP endpoint is set and
 * OTEL_SDK_DISABLED is not true.
 */
export interface TracingEnv {
  OTEL_SDK_DISABLED: boolean;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL?: 'http/protobuf' | 'http/json' | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: 'http/protobuf' | 'http/json' | undefined;
  OTEL_PROPAGATE_UPSTREAM: boolean;
}

/** A span as the apps use it. */
export interface TraceSpan {
  /** Sets one attribute (undefined leaves it out); ignored once the span ended. */
  setAttribute(key: string, value: string | number | boolean | undefined): void;
  /**
   * Sets each defined attribute. The object may be kept, unread until the span ends (a span's first attributes):
   * pass a fresh one and do not change it afterwards.
   */
  setAttributes(attributes: TraceAttributes): void;
  updateName(name: string): void;
  /** Status ERROR. */
  setError(): void;
  /** Ends it (once; later calls do nothing): a recording span goes to the exporter. */
  end(): void;
  spanContext(): SpanContext;
  /** False for a span that is not sampled or already ended, and for every span when tracing is off. */
  isRecording(): boolean;
}

/** Where a new span hangs: under another span of this process, or under a caller's W3C trace context. */
export interface SpanParent {
  span?: TraceSpan | null;
  /** The caller's `traceparent` header (a malformed one is ignored: the span starts a new trace). */
  traceparent?: string | string[] | null;
  tracestate?: string | string[] | null;
}

/** What the apps trace with: one per process, built from the environment, shut down (flushed) on exit. */
export interface Tracing {
  /** False: every method is a no-op. Hot paths check this flag and skip even building attributes. */
  readonly enabled: boolean;
  /** OTEL_PROPAGATE_UPSTREAM: attempts carry their trace context to the provider. */
  readonly propagateUpstream: boolean;
  /** Starts a span (`server`: a request received, `client`: a call out, `internal`: a job). */
  startSpan(
    name: string,
    kind: 'server' | 'client' | 'internal',
    attributes?: TraceAttributes,
    parent?: SpanParent,
  ): TraceSpan;
  /** The W3C headers (`traceparent`, maybe `tracestate`) that make a callee's spans children of `span`. */
  headersOf(span: TraceSpan): Record<string, string>;
  /** Runs `job` inside an `internal` span that records its failure; without tracing, just runs it. */
  traced<T>(name: string, attributes: TraceAttributes, job: () => Promise<T>): Promise<T>;
  /** Exports what is buffered and stops; later spans are dropped. */
  shutdown(): Promise<void>;
}

/** Marks a span failed with `error.type` (a class name, never a message that could quote a secret). */
export function failSpan(span: TraceSpan, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setError();
}

/** Whether the switches turn tracing on. */
export function tracingEnabled(env: TracingEnv): boolean {
  return !env.OTEL_SDK_DISABLED && tracesUrl(env) !== undefined;
}

/** The traces endpoint is used as given; the generic one gets `/v1/traces` appended (OTLP exporter spec). */
export function tracesUrl(env: TracingEnv): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * This process's spans: their ids kept as 32-bit words, hex written only when something reads their context
 * (propagation, a log): most unsampled spans are never asked, and hex for every one of them cost 2.5 µs a request.
 */
abstract class OwnSpan {
  constructor(
    readonly t0: number,
    readonly t1: number,
    readonly t2: number,
    readonly t3: number,
    readonly s0: number,
    readonly s1: number,
    readonly traceState: string,
  ) {}

  protected contextWith(traceFlags: number): SpanContext {
    return {
      traceId: hexWord(this.t0) + hexWord(this.t1) + hexWord(this.t2) + hexWord(this.t3),
      spanId: hexWord(this.s0) + hexWord(this.s1),
      traceFlags,
      traceState: this.traceState,
    };
  }
}

/** A span that records nothing: tracing off, or not sampled (its context still travels in `traceparent`). */
class NonRecordingSpan extends OwnSpan implements TraceSpan {
  private context: SpanContext | null = null;

  setAttribute(): void {}
  setAttributes(): void {}
  updateName(): void {}
  setError(): void {}
  end(): void {}
  spanContext(): SpanContext {
    // Written once: every read sees the same ids (and the same object, as before it was lazy).
    return (this.context ??= this.contextWith(0));
  }
  isRecording(): boolean {
    return false;
  }
}

const NOOP_SPAN: TraceSpan = new NonRecordingSpan(0, 0, 0, 0, 0, 0, '');

/** Tracing off: nothing is allocated, nothing exported. */
export const noopTracing: Tracing = {
  enabled: false,
  propagateUpstream: false,
  startSpan: () => NOOP_SPAN,
  headersOf: () => ({}),
  traced: (_name, _attributes, job) => job(),
  shutdown: () => Promise.resolve(),
};

/** A span started without attributes (shared, never written: a first setAttributes replaces it). */
const NO_ATTRIBUTES: TraceAttributes = Object.freeze({});

const KINDS = { server: 2, client: 3, internal: 1 } as const;

/** A sampled span: its fields are what the exporter encodes when it ends. */
class RecordingSpan extends OwnSpan implements TraceSpan, FinishedSpan {
  endMs = 0;
  error = false;
  readonly extra: Array<string | AttributeValue> = [];
  private ended = false;

  constructor(
    private readonly exporter: OtlpExporter,
    public name: string,
    readonly kind: number,
    t0: number,
    t1: number,
    t2: number,
    t3: number,
    s0: number,
    s1: number,
    readonly p0: number,
    readonly p1: number,
    traceState: string,
    /**
     * Kept as given (the callers pass a fresh literal; {@link NO_ATTRIBUTES}: none yet, the first setAttributes
     * object is taken instead); later attributes go to `extra`.
     */
    public attributes: TraceAttributes,
    readonly startMs: number,
  ) {
    super(t0, t1, t2, t3, s0, s1, traceState);
  }

  setAttribute(key: string, value: string | number | boolean | undefined): void {
    // An empty value sets nothing (OpenTelemetry's rule): it does not remove a value set before.
    if (!this.ended && value !== undefined && value !== null) this.extra.push(key, value);
  }

  setAttributes(attributes: TraceAttributes): void {
    if (this.ended) return;
    // A span started without attributes takes the first object it is given as its starting ones, kept as given
    // (as startSpan keeps its literal): a caller that names a span only once it knows it is sampled pays no copy.
    if (this.attributes === NO_ATTRIBUTES && this.extra.length === 0) {
      this.attributes = attributes;
      return;
    }
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined && value !== null) this.extra.push(key, value);
    }
  }

  updateName(name: string): void {
    if (!this.ended) this.name = name;
  }

  setError(): void {
    if (!this.ended) this.error = true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = Math.max(this.startMs, epochMs());
    this.exporter.add(this);
  }

  spanContext(): SpanContext {
    return this.contextWith(1);
  }

  isRecording(): boolean {
    return !this.ended;
  }
}

/**
 * Whether a new trace (or a span whose parent-based sampler has no parent) is sampled. traceidratio compares the
 * trace id's low 56 bits with the ratio, so every service sampling by ratio keeps the same traces.
 */
function rootSampled(sampler: SamplerName, ratio: number, t2: number, t3: number): boolean {
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return false;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio')
    return ratio >= 1 || (t2 & 0xffffff) * 2 ** 32 + t3 < ratio * 2 ** 56;
  return true;
}

/**
 * Builds the process's tracing from the environment: OTLP/HTTP (protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says
 * http/json) with batching, resource `service.name` = `serviceName` unless OTEL_SERVICE_NAME or
 * OTEL_RESOURCE_ATTRIBUTES say otherwise, and the standard OTEL_* exporter, batch and sampler variables
 * (`otel-settings.ts`). Only W3C trace context is read and written; parents are passed explicitly, so nothing
 * patches node's async machinery. Spans, ids and the export encoding are Keyway's own (no OpenTelemetry SDK):
 * a traced request costs a few microseconds, where the SDK's span objects and serializer cost ~50% of the
 * gateway's CPU per request. `onError` hears export failures and unusable settings.
 */
export function createTracing(
  env: TracingEnv,
  serviceName: string,
  onError?: (message: string) => void,
  raw: Record<string, string | undefined> = process.env,
): Tracing {
  const url = tracesUrl(env);
  if (env.OTEL_SDK_DISABLED || url === undefined)
    return env.OTEL_PROPAGATE_UPSTREAM ? { ...noopTracing, propagateUpstream: true } : noopTracing;
  const report = onError ?? (() => {});
  const settings = traceSettings(raw, serviceName, report);
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const origin = { resource: settings.resource, scopeName: 'keyway', scopeVersion: '' };
  const encoder = protocol === 'http/json' ? new JsonBatchEncoder(origin) : new ProtoBatchEncoder(origin);
  const exporter = new OtlpExporter(url, settings, encoder, report);
  const parentBased = settings.sampler.startsWith('parentbased_');

  const startSpan: Tracing['startSpan'] = (name, kind, attributes, parent) => {
    const s0 = randomWord();
    const s1 = s0 === 0 ? randomWord() || 1 : randomWord();
    const ps = parent?.span;
    // A child of a span of this process (an attempt under its request): its ids are taken as they are.
    if (ps instanceof RecordingSpan)
      return new RecordingSpan(
        exporter,
        name,
        KINDS[kind],
        ps.t0,
        ps.t1,
        ps.t2,
        ps.t3,
        s0,
        s1,
        ps.s0,
        ps.s1,
        ps.traceState,
        attributes ?? NO_ATTRIBUTES,
        epochMs(),
      );
    // The parent's ids as words: another span's (unsampled: a NonRecordingSpan), or the caller's traceparent.
    let parented = false;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    let p0 = 0;
    let p1 = 0;
    let parentSampled = false;
    let traceState = '';
    if (ps instanceof NonRecordingSpan) {
      if ((ps.t0 | ps.t1 | ps.t2 | ps.t3) !== 0) {
        parented = true;
        ({ t0, t1, t2, t3 } = ps);
        p0 = ps.s0;
        p1 = ps.s1;
        traceState = ps.traceState;
      }
    } else if (ps) {
      const context = ps.spanContext();
      if (context.traceId !== INVALID_TRACE_ID) {
        parented = true;
        const id = context.traceId;
        t0 = wordAt(id, 0);
        t1 = wordAt(id, 8);
        t2 = wordAt(id, 16);
        t3 = wordAt(id, 24);
        p0 = wordAt(context.spanId, 0);
        p1 = wordAt(context.spanId, 8);
        parentSampled = (context.traceFlags & 1) === 1;
        traceState = context.traceState;
      }
    } else if (parent?.traceparent) {
      const caller = readTraceparent(parent.traceparent);
      if (caller) {
        parented = true;
        ({ t0, t1, t2, t3, p0, p1 } = caller);
        parentSampled = (caller.traceFlags & 1) === 1;
        traceState = parseTracestate(parent.tracestate);
      }
    }
    if (!parented) {
      t0 = randomWord();
      t1 = randomWord();
      t2 = randomWord();
      t3 = randomWord() || 1; // never the invalid all-zero id
    }
    const sampled =
      parented && parentBased ? parentSampled : rootSampled(settings.sampler, settings.ratio, t2, t3);
    if (!sampled) return new NonRecordingSpan(t0, t1, t2, t3, s0, s1, traceState);
    return new RecordingSpan(
      exporter,
      name,
      KINDS[kind],
      t0,
      t1,
      t2,
      t3,
      s0,
      s1,
      p0,
      p1,
      traceState,
      attributes ?? NO_ATTRIBUTES,
      epochMs(),
    );
  };

  return {
    enabled: true,
    propagateUpstream: env.OTEL_PROPAGATE_UPSTREAM,
    startSpan,
    headersOf(span) {
      // This process's spans: the header written straight from their ids.
      if (span instanceof OwnSpan) {
        const { t0, t1, t2, t3, traceState } = span;
        if ((t0 | t1 | t2 | t3) === 0) return {};
        const traceparent = traceparentOf(span, span instanceof RecordingSpan);
        return traceState ? { traceparent, tracestate: traceState } : { traceparent };
      }
      const context = span.spanContext();
      if (context.traceId === INVALID_TRACE_ID) return {};
      const out: Record<string, string> = { traceparent: formatTraceparent(context) };
      if (context.traceState) out.tracestate = context.traceState;
      return out;
    },
    async traced(name, attributes, job) {
      const span = startSpan(name, 'internal', { ...attributes });
      try {
        return await job();
      } catch (error) {
        failSpan(span, error instanceof Error ? error.name : 'Error');
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown: () => exporter.shutdown(),
  };
}
