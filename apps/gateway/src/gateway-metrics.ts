import type { Metrics } from '@keyway/observability';
import type { GatewayMetrics } from './app';

/** The gateway's Prometheus series, plus the hooks its composition root reports through. */
export interface GatewayMetricSet {
  gateway: GatewayMetrics & {
    /** An attempt answered 2xx without content (`retryOnEmpty`), by group: retried, or relayed when it was the last. */
    emptyReply(group: string): void;
  };
  /** A key health change (by new status and cause). */
  keyChange(status: string, cause: string): void;
  /** A request-log (or key-event) batch that could not be handed over; it is kept and retried. */
  logWriteFailed(): void;
}

/** Distinct access-key names given their own series; the rest share one (bounded cardinality). */
const ACCESS_KEY_SERIES = 1000;
/** The label of access keys beyond {@link ACCESS_KEY_SERIES} (like the registry's own `__overflow__`). */
const OTHER_ACCESS_KEYS = '__other__';

interface AccessKeySeries {
  label: string;
  classes: Map<number, { inc(n?: number): void }>;
  prompt: { inc(n?: number): void };
  completion: { inc(n?: number): void };
  cost: { inc(n?: number): void };
}

interface GroupSeries {
  classes: Map<number, { inc(n?: number): void }>;
  duration: { observe(value: number): void };
}

/** Registers the proxy's metrics on `metrics` (both standalone and the distributed gateway expose these). */
export function createGatewayMetrics(metrics: Metrics): GatewayMetricSet {
  const requests = metrics.counter(
    'keyway_proxy_requests_total',
    'Proxied requests by group and status class',
    ['group', 'status'],
  );
  const duration = metrics.histogram(
    'keyway_proxy_request_duration_seconds',
    'Proxied request duration',
    ['group'],
    [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  );
  const inFlight = metrics.gauge('keyway_proxy_in_flight', 'Proxy requests being served', []);
  const authFailures = metrics.counter(
    'keyway_proxy_auth_failures_total',
    'Proxy requests refused for a missing or wrong proxy key, by group',
    ['group'],
  );
  const keyChanges = metrics.counter(
    'keyway_key_state_changes_total',
    'Key health changes by new status and cause',
    ['status', 'cause'],
  );
  const logFailures = metrics.counter(
    'keyway_request_log_write_failures_total',
    'Failed request-log batch writes',
    [],
  );
  const akRequests = metrics.counter(
    'keyway_access_key_requests_total',
    'Requests by access key (name) and status class',
    ['access_key', 'status'],
  );
  const akTokens = metrics.counter(
    'keyway_access_key_tokens_total',
    'Tokens of finished requests by access key (name) and kind (prompt, cached included; completion)',
    ['access_key', 'kind'],
  );
  const akCost = metrics.counter(
    'keyway_access_key_cost_usd_total',
    'Cost in USD of finished requests by access key (name), priced from the price table',
    ['access_key'],
  );
  const emptyReplies = metrics.counter(
    'keyway_empty_replies_total',
    'Attempts answered 2xx without content under retryOnEmpty (failure class empty), by group',
    ['group'],
  );
  const byAccessKey = new Map<string, AccessKeySeries>();
  const accessKeySeries = (name: string): AccessKeySeries => {
    const label = byAccessKey.has(name) || byAccessKey.size < ACCESS_KEY_SERIES ? name : OTHER_ACCESS_KEYS;
    let a = byAccessKey.get(label);
    if (!a) {
      a = {
        label,
        classes: new Map(),
        prompt: akTokens.labels({ access_key: label, kind: 'prompt' }),
        completion: akTokens.labels({ access_key: label, kind: 'completion' }),
        cost: akCost.labels({ access_key: label }),
      };
      byAccessKey.set(label, a);
    }
    return a;
  };
  // Label children resolved once per group (and status class): this runs for every proxied request.
  const byGroup = new Map<string, GroupSeries>();
  const seriesOf = (group: string): GroupSeries => {
    let g = byGroup.get(group);
    if (!g) {
      g = { classes: new Map(), duration: duration.labels({ group }) };
      // Group names are bounded by the configuration; a renamed group's old series simply stops growing.
      if (byGroup.size > 10_000) byGroup.clear();
      byGroup.set(group, g);
    }
    return g;
  };
  return {
    gateway: {
      request(group, status, durationMs) {
        const g = seriesOf(group);
        const cls = Math.floor(status / 100);
        let counter = g.classes.get(cls);
        if (!counter) g.classes.set(cls, (counter = requests.labels({ group, status: `${cls}xx` })));
        counter.inc();
        g.duration.observe(durationMs / 1000);
      },
      inFlight: (v) => inFlight.set(v),
      proxyAuthFailure: (group) => authFailures.inc({ group }),
      emptyReply: (group) => emptyReplies.inc({ group }),
      accessKeyRequest(name, record) {
        const a = accessKeySeries(name);
        const cls = Math.floor(record.statusCode / 100);
        let counter = a.classes.get(cls);
        if (!counter)
          a.classes.set(cls, (counter = akRequests.labels({ access_key: a.label, status: `${cls}xx` })));
        counter.inc();
        if (record.promptTokens) a.prompt.inc(record.promptTokens);
        if (record.completionTokens) a.completion.inc(record.completionTokens);
        if (record.costUsd) a.cost.inc(record.costUsd);
      },
    },
    keyChange: (status, cause) => keyChanges.inc({ status, cause }),
    logWriteFailed: () => logFailures.inc(),
  };
}
