import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metrics } from './metrics';

export interface ProcessMetricsOptions {
  /**
   * Event-loop sampling period in ms (default 50). Each period is a timer wake-up: at 10 ms an idle process spent
   * ~6 ms of CPU per second on it, at 50 ms ~2. A stall longer than the period is still caught whole.
   */
  resolutionMs?: number;
}

/** Registries already carrying process metrics: registering twice would double-count CPU time. */
const registered = new WeakMap<Metrics, { stop(): void }>();

/**
 * Registers process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds,
 * nodejs_eventloop_lag_seconds (mean since the previous scrape), nodejs_eventloop_lag_max_seconds and _p99_seconds,
 * all sampled when the registry renders. `stop()` turns the event-loop monitor off.
 */
export function defaultProcessMetrics(
  metrics: Metrics,
  options: ProcessMetricsOptions = {},
): { stop(): void } {
  const existing = registered.get(metrics);
  if (existing) return existing;

  const resolutionMs = options.resolutionMs ?? 50;
  const rss = metrics.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const cpu = metrics.counter(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
  );
  const start = metrics.gauge(
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
  );
  const lag = metrics.gauge(
    'nodejs_eventloop_lag_seconds',
    'Mean event loop lag since the previous scrape, in seconds.',
  );
  const lagMax = metrics.gauge(
    'nodejs_eventloop_lag_max_seconds',
    'Largest event loop lag since the previous scrape, in seconds.',
  );
  const lagP99 = metrics.gauge(
    'nodejs_eventloop_lag_p99_seconds',
    '99th percentile of event loop lag since the previous scrape, in seconds.',
  );

  // Floor: rounding could put the start a fraction of a second in the future.
  start.set(Math.floor((Date.now() - process.uptime() * 1000) / 1000));
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  const resolutionNs = resolutionMs * 1e6;
  let lastCpuMicros = 0;

  metrics.beforeRender(() => {
    rss.set(process.memoryUsage.rss());
    const { user, system } = process.cpuUsage();
    const total = user + system;
    // A counter only goes up: add what was spent since the previous render.
    if (total > lastCpuMicros) cpu.inc((total - lastCpuMicros) / 1e6);
    lastCpuMicros = Math.max(lastCpuMicros, total);
    // Each sample is the timer period plus the lag; with no sample since the last scrape keep the old value.
    // reset() also drops the interval in progress, so a stall starting within one period of a scrape is
    // missed — acceptable for a gauge read every few seconds.
    if (delay.count > 0) {
      lag.set(Math.max(0, delay.mean - resolutionNs) / 1e9);
      lagMax.set(Math.max(0, delay.max - resolutionNs) / 1e9);
      lagP99.set(Math.max(0, delay.percentile(99) - resolutionNs) / 1e9);
      delay.reset();
    }
  });

  const handle = {
    stop() {
      delay.disable();
    },
  };
  registered.set(metrics, handle);
  return handle;
}
