import { z } from 'zod';
import { booleanFromEnv } from './primitives';

/** The OTLP/HTTP encodings Keyway can export traces in (gRPC is not bundled). */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;

const endpoint = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s/]/i.test(v), { message: 'must be an http:// or https:// URL' })
  .optional();

const protocol = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(
    z.enum(OTLP_PROTOCOLS, {
      error: `must be ${OTLP_PROTOCOLS.join(' or ')} (Keyway exports traces over OTLP/HTTP only)`,
    }),
  )
  .optional();

/**
 * The switches of OpenTelemetry tracing: on when an OTLP endpoint is set and OTEL_SDK_DISABLED is not true.
 * The other standard OTEL_* variables (headers, timeout, compression, service name, resource attributes, sampler,
 * batch settings) are read by `@keyway/observability` when tracing starts, as every OpenTelemetry SDK reads them.
 */
export const otelEnv = {
  OTEL_SDK_DISABLED: booleanFromEnv(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  /** Opt-in: send the attempt's `traceparent`/`tracestate` upstream (off: the provider sees none). */
  OTEL_PROPAGATE_UPSTREAM: booleanFromEnv(false),
};

/** The parsed tracing switches an app hands to `createTracing`. */
export type OtelEnv = { [K in keyof typeof otelEnv]: z.infer<(typeof otelEnv)[K]> };
