import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EnvError, loadEnv } from './load-env';
import { otelEnv } from './otel';

const schema = z.object(otelEnv);

describe('otelEnv', () => {
  it('leaves tracing without an endpoint and propagation off by default (empty values count as unset)', () => {
    expect(loadEnv(schema, { OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toEqual({
      OTEL_SDK_DISABLED: false,
      OTEL_PROPAGATE_UPSTREAM: false,
    });
  });

  it('reads the endpoints, the OTLP/HTTP protocol and the switches', () => {
    const env = loadEnv(schema, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://api.honeycomb.io/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON',
      OTEL_SDK_DISABLED: 'true',
      OTEL_PROPAGATE_UPSTREAM: 'true',
    });
    expect(env).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://api.honeycomb.io/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SDK_DISABLED: true,
      OTEL_PROPAGATE_UPSTREAM: true,
    });
  });

  it('refuses gRPC and an endpoint that is not an http(s) URL, naming the variable', () => {
    expect(() => loadEnv(schema, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(EnvError);
    expect(() => loadEnv(schema, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL/,
    );
    expect(() => loadEnv(schema, { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => loadEnv(schema, { OTEL_PROPAGATE_UPSTREAM: 'maybe' })).toThrow(/OTEL_PROPAGATE_UPSTREAM/);
  });
});
