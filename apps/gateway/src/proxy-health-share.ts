import { randomUUID } from 'node:crypto';
import type { ProxyPenalty } from '@keyway/contracts';
import type { ProxyPenaltyStore } from '@keyway/server';
import type { ProxyHealth } from './egress-proxy';

/** Options of {@link shareProxyHealth}. */
export interface ProxyHealthShareOptions {
  /** This gateway's field in the shared hashes (default: random per process). */
  gatewayId?: string;
  /** A write that failed: the admin API shows this gateway's penalties late until the next one succeeds. */
  onError: (err: unknown) => void;
}

/**
 * Publishes this gateway's proxy penalties (when one starts, grows or ends) so the control plane can show every
 * gateway's view of a group's proxies. Writes leave in the background, coalesced per proxy: a request that fails
 * or succeeds through a proxy never waits for Redis.
 */
export function shareProxyHealth(
  health: ProxyHealth,
  store: Pick<ProxyPenaltyStore, 'write'>,
  o: ProxyHealthShareOptions,
): { close(): Promise<void> } {
  const gatewayId = o.gatewayId ?? randomUUID();
  const pending = new Map<string, ProxyPenalty | null>();
  let scheduled: NodeJS.Immediate | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  const flush = (): void => {
    scheduled = null;
    const batch = [...pending];
    pending.clear();
    const writes = batch.map(([proxy, penalty]) => store.write(gatewayId, proxy, penalty).catch(o.onError));
    inFlight = Promise.all([inFlight, ...writes]).then(() => undefined);
  };
  const unsubscribe = health.onChange(({ proxy, penalty }) => {
    pending.set(proxy, penalty);
    scheduled ??= setImmediate(flush);
  });

  return {
    async close() {
      unsubscribe();
      if (scheduled) {
        clearImmediate(scheduled);
        flush();
      }
      await inFlight;
    },
  };
}
