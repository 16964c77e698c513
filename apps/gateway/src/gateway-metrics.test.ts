import { createMetrics } from '@keyway/observability';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './gateway-metrics';

describe('gateway metrics', () => {
  it('counts empty replies per group in their own series', () => {
    const metrics = createMetrics();
    const m = createGatewayMetrics(metrics).gateway;
    m.emptyReply('gemini-pool');
    m.emptyReply('gemini-pool');
    m.emptyReply('openai-pool');
    m.request('gemini-pool', 200, 12);
    const text = metrics.render();
    expect(text).toContain('keyway_empty_replies_total{group="gemini-pool"} 2');
    expect(text).toContain('keyway_empty_replies_total{group="openai-pool"} 1');
    // An empty reply is not a failed request: the request series still count it by the status it ended with.
    expect(text).toContain('keyway_proxy_requests_total{group="gemini-pool",status="2xx"} 1');
  });
});
