/**
 * Child process: one autocannon run through its API, on an event loop of its own. Takes its options as
 * JSON in argv[2]; prints `RESULT {json}` with the summary and the CPU seconds this process used.
 */
import autocannon from 'autocannon';

export interface LoadWorkerInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationSec: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as LoadWorkerInput;
const result = await autocannon({
  url: input.url,
  method: 'POST',
  headers: input.headers,
  body: input.body,
  connections: input.connections,
  duration: input.durationSec,
});
const cpu = process.cpuUsage();
const summary = {
  requests: result.requests.total,
  durationSec: result.duration,
  latency: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
  },
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  cpuSec: (cpu.user + cpu.system) / 1e6,
};
process.stdout.write(`RESULT ${JSON.stringify(summary)}\n`);
