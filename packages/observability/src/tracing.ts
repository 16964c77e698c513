import type { Attributes, Context, Span, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

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

/** A span as the apps use it: OpenTelemetry's own (no wrapper object per span). */
export type TraceSpan = Span;

/** Attribute values a span takes (undefined ones are dropped by the SDK). */
export type TraceAttributes = Attributes;

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
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
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

const NOOP_SPAN: TraceSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Tracing off: nothing is allocated, nothing exported. */
export const noopTracing: Tracing = {
  enabled: false,
  propagateUpstream: false,
  startSpan: () => NOOP_SPAN,
  headersOf: () => ({}),
  traced: (_name, _attributes, job) => job(),
  shutdown: () => Promise.resolve(),
};

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;

const headerGetter: TextMapGetter<SpanParent> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) => {
    const v = key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : null;
    return v ?? undefined;
  },
};

const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Builds the process's tracing from the environment: OTLP/HTTP (protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says
 * http/json) through a batch processor, resource `service.name` = `serviceName` unless OTEL_SERVICE_NAME or
 * OTEL_RESOURCE_ATTRIBUTES say otherwise. Only W3C trace context is read and written; no global provider or
 * context manager is installed (parents are passed explicitly, so nothing patches node's async machinery).
 * `onError` hears export failures.
 */
export function createTracing(
  env: TracingEnv,
  serviceName: string,
  onError?: (message: string) => void,
): Tracing {
  const url = tracesUrl(env);
  if (env.OTEL_SDK_DISABLED || url === undefined)
    return env.OTEL_PROPAGATE_UPSTREAM ? { ...noopTracing, propagateUpstream: true } : noopTracing;
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  // The URL as the OTLP spec builds it; headers, timeout and compression the exporter reads from OTEL_* itself.
  const exporter = protocol === 'http/json' ? new JsonExporter({ url }) : new ProtoExporter({ url });
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const processor = new BatchSpanProcessor({
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        if (result.error && onError) onError(`trace export failed: ${result.error.message}`);
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('keyway');
  const propagator = new W3CTraceContextPropagator();

  const contextOf = (parent: SpanParent | undefined): Context => {
    if (!parent) return ROOT_CONTEXT;
    if (parent.span) return trace.setSpan(ROOT_CONTEXT, parent.span);
    if (!parent.traceparent) return ROOT_CONTEXT;
    return propagator.extract(ROOT_CONTEXT, parent, headerGetter);
  };
  const startSpan: Tracing['startSpan'] = (name, kind, attributes, parent) =>
    tracer.startSpan(name, { kind: KINDS[kind], ...(attributes ? { attributes } : {}) }, contextOf(parent));

  return {
    enabled: true,
    propagateUpstream: env.OTEL_PROPAGATE_UPSTREAM,
    startSpan,
    headersOf(span) {
      const out: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, headerSetter);
      return out;
    },
    async traced(name, attributes, job) {
      const span = startSpan(name, 'internal', attributes);
      try {
        return await job();
      } catch (error) {
        failSpan(span, error instanceof Error ? error.name : 'Error');
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown: () => provider.shutdown(),
  };
}
