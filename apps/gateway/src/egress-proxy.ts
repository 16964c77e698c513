import type { ProxyPenalty } from '@keyway/contracts';
import type { Classification } from '@keyway/core';
import { UpstreamHealth } from './upstream-health';

// The dispatcher through an egress proxy lives in `@keyway/server`: the worker's key validation leaves through it too.
export { isProxyFailureText, PROXY_FAILED_CODE, ProxyFailedError, proxyDispatcher } from '@keyway/server';
export type { ProxyDispatcherOptions } from '@keyway/server';

/** How a proxy failure is classified: retryable on another proxy or key, and nothing to charge the key with. */
export const PROXY_FAILURE: Classification = {
  class: 'proxy',
  retryable: true,
  reason: 'egress proxy failed',
};

/** A proxy's penalty starting (or growing) or ending, as {@link ProxyHealth.onChange} tells it. */
export interface ProxyPenaltyChange {
  proxy: string;
  /** null: it answered again, the penalty is over. */
  penalty: ProxyPenalty | null;
}

/** Longest kept text of a proxy's last failure. */
const ERROR_TEXT_LIMIT = 300;

/**
 * Proxies that failed, skipped for a short growing interval (1 s doubling to 60 s) like upstreams; kept per process
 * and across reloads. It also keeps what the admin API shows of them (until when, and why), and tells listeners when
 * a penalty starts or ends so it can be shared with other processes off the request path.
 */
export class ProxyHealth extends UpstreamHealth {
  private readonly penalties = new Map<string, ProxyPenalty>();
  private readonly lastErrors = new Map<string, string>();
  private readonly listeners = new Set<(change: ProxyPenaltyChange) => void>();

  /** Remembers why `proxy` failed last (the text names it masked), shown with its next penalty. */
  noteFailure(proxy: string, why: string): void {
    const { password } = new URL(proxy);
    // The text is built from the masked URL; a password quoted by a cause is masked all the same.
    const text = password ? why.split(password).join('…') : why;
    this.lastErrors.set(
      proxy,
      text.length > ERROR_TEXT_LIMIT ? `${text.slice(0, ERROR_TEXT_LIMIT - 1)}…` : text,
    );
  }

  override fail(proxy: string, now = Date.now(), kind: 'failure' | 'brief' = 'failure'): number {
    const ms = super.fail(proxy, now, kind);
    const until = Math.max(this.penalties.get(proxy)?.until ?? 0, now + ms);
    const penalty = { until, error: this.lastErrors.get(proxy) ?? null };
    this.penalties.set(proxy, penalty);
    this.emit({ proxy, penalty });
    return ms;
  }

  override succeed(proxy: string): void {
    super.succeed(proxy);
    // Every reply through a proxy lands here: a map miss is all it costs while the proxy is healthy.
    if (!this.penalties.delete(proxy)) return;
    this.lastErrors.delete(proxy);
    this.emit({ proxy, penalty: null });
  }

  /** The penalties of `proxies` in force at `now` (a proxy absent is healthy). */
  penaltiesOf(proxies: Iterable<string>, now = Date.now()): Map<string, ProxyPenalty> {
    const out = new Map<string, ProxyPenalty>();
    for (const proxy of proxies) {
      const p = this.penalties.get(proxy);
      if (p && p.until > now) out.set(proxy, p);
    }
    return out;
  }

  /** Calls `listener` when a penalty starts, grows or ends; returns the unsubscribe. */
  onChange(listener: (change: ProxyPenaltyChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(change: ProxyPenaltyChange): void {
    for (const l of this.listeners) l(change);
  }
}
