/**
 * The standard OTEL_* variables beyond the on/off switches (which `@keyway/config` parses), read as the
 * OpenTelemetry environment specification defines them
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and the OTLP exporter
 * configuration page): exporter headers, timeout and compression, the batch processor's limits, the sampler and the
 * resource. A value that cannot be used falls back to the default with a warning, as the SDKs do.
 */

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface TraceSettings {
  headers: Record<string, string>;
  /** Per export request. */
  timeoutMs: number;
  compression: 'gzip' | 'none';
  /** Longest a span waits before its batch is sent. */
  scheduleDelayMs: number;
  /** Longest one batch is tried, retries included. */
  exportTimeoutMs: number;
  /** Spans held at most (more are dropped and counted). */
  maxQueueSize: number;
  maxExportBatchSize: number;
  sampler: SamplerName;
  /** traceidratio's ratio, 0 to 1. */
  ratio: number;
  resource: Record<string, string>;
}

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values: visible ASCII, spaces and tabs (obs-text is not sent); never CR, LF or NUL.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part.trim());
  } catch {
    return null;
  }
}

/** A `key=value,key2=value2` list (W3C baggage style, values percent-decoded); bad members are reported and left out. */
export function parseKeyValueList(
  raw: string | undefined,
  name: string,
  warn: (message: string) => void,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!raw) return out;
  for (const member of raw.split(',')) {
    if (member.trim() === '') continue;
    const eq = member.indexOf('=');
    const key = eq > 0 ? decode(member.slice(0, eq)) : null;
    const value = eq > 0 ? decode(member.slice(eq + 1)) : null;
    if (key === null || key === '' || value === null) {
      // The member itself is not quoted: it may hold a credential.
      warn(`${name}: a member is not key=value (percent-encoded); it is ignored`);
      continue;
    }
    out.push([key, value]);
  }
  return out;
}

function positiveInt(
  raw: Record<string, string | undefined>,
  name: string,
  fallback: number,
  warn: (message: string) => void,
): number {
  const value = raw[name];
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    warn(`${name}=${JSON.stringify(value)} is not a positive integer; using ${fallback}`);
    return fallback;
  }
  return n;
}

/** The trace settings from `raw` (process.env); warnings name the variable, never a header's value. */
export function traceSettings(
  raw: Record<string, string | undefined>,
  serviceName: string,
  warn: (message: string) => void,
): TraceSettings {
  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'])
    for (const [key, value] of parseKeyValueList(raw[name], name, warn)) {
      if (!TOKEN.test(key) || !HEADER_VALUE.test(value)) {
        warn(`${name}: a header name or value has characters HTTP does not allow; it is ignored`);
        continue;
      }
      headers[key.toLowerCase()] = value;
    }

  const timeoutMs = positiveInt(
    raw,
    raw.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT
      ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
      : 'OTEL_EXPORTER_OTLP_TIMEOUT',
    10_000,
    warn,
  );

  const compressionName = raw.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION
    ? 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'
    : 'OTEL_EXPORTER_OTLP_COMPRESSION';
  const compressionRaw = (raw[compressionName] ?? '').trim().toLowerCase();
  let compression: 'gzip' | 'none' = 'none';
  if (compressionRaw === 'gzip') compression = 'gzip';
  else if (compressionRaw !== '' && compressionRaw !== 'none')
    warn(`${compressionName}=${JSON.stringify(compressionRaw)} is not gzip or none; sending uncompressed`);

  const maxQueueSize = positiveInt(raw, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, warn);
  let maxExportBatchSize = positiveInt(raw, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, warn);
  if (maxExportBatchSize > maxQueueSize) {
    warn('OTEL_BSP_MAX_EXPORT_BATCH_SIZE is above OTEL_BSP_MAX_QUEUE_SIZE; using the queue size');
    maxExportBatchSize = maxQueueSize;
  }

  const samplerRaw = (raw.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  let sampler: SamplerName = 'parentbased_always_on';
  if ((SAMPLERS as readonly string[]).includes(samplerRaw)) sampler = samplerRaw as SamplerName;
  else if (samplerRaw !== '')
    warn(`OTEL_TRACES_SAMPLER=${JSON.stringify(samplerRaw)} is not supported; using parentbased_always_on`);
  let ratio = 1;
  const argRaw = raw.OTEL_TRACES_SAMPLER_ARG;
  if (sampler.endsWith('traceidratio') && argRaw !== undefined && argRaw.trim() !== '') {
    const n = Number(argRaw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) ratio = n;
    else warn(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(argRaw)} is not a ratio from 0 to 1; using 1`);
  }

  const resource: Record<string, string> = {
    'service.name': serviceName,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'keyway',
  };
  for (const [key, value] of parseKeyValueList(
    raw.OTEL_RESOURCE_ATTRIBUTES,
    'OTEL_RESOURCE_ATTRIBUTES',
    warn,
  ))
    resource[key] = value;
  // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (specification).
  const service = raw.OTEL_SERVICE_NAME?.trim();
  if (service) resource['service.name'] = service;

  return {
    headers,
    timeoutMs,
    compression,
    scheduleDelayMs: positiveInt(raw, 'OTEL_BSP_SCHEDULE_DELAY', 5000, warn),
    exportTimeoutMs: positiveInt(raw, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, warn),
    maxQueueSize,
    maxExportBatchSize,
    sampler,
    ratio,
    resource,
  };
}
