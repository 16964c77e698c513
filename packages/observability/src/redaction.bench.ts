import { bench, describe } from 'vitest';
import { createLogger } from './logger';
import { SecretRegistry } from './secret-registry';

// Run with `pnpm bench`. Numbers for the report: µs per line = 1e6 / hz.

/** Deterministic key-like strings of 24–84 characters. */
function keys(count: number): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = 7;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    let k = ['sk-proj-', 'AIza', 'sk-ant-api03-', ''][i % 4] ?? '';
    for (let j = 0, n = 20 + (next() % 60); j < n; j++) k += alphabet[next() % alphabet.length];
    return k;
  });
}

const line =
  JSON.stringify({
    level: 'info',
    time: '2025-01-01T12:00:00.000Z',
    pid: 4242,
    hostname: 'gateway-1',
    name: 'gateway',
    reqId: 'a1b2c3d4-e5f6-4711-8000-123456789abc',
    group: 'openai-main',
    method: 'POST',
    path: '/proxy/openai-main/v1/chat/completions',
    status: 200,
    durationMs: 1234.5,
    ttfbMs: 321,
    model: 'gpt-4o-mini',
    keyId: 42,
    msg: 'request completed with some longer free text explaining what happened',
  }) + '\n';

describe('SecretRegistry.redactJsonLine, ~440-char line without secrets', () => {
  for (const n of [1, 10, 1000, 10_000]) {
    const r = new SecretRegistry(keys(n));
    r.redactJsonLine(line); // build the matcher outside the measurement
    bench(`${n} registered`, () => void r.redactJsonLine(line));
  }
});

describe('logger.info with a request object, discarding output', () => {
  const sink = { write: () => undefined };
  const obj = {
    req: {
      method: 'POST',
      url: '/proxy/openai/v1/chat/completions',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
    },
    group: 'openai-main',
    status: 200,
    durationMs: 1234.5,
  };
  const plain = createLogger({ level: 'info', format: 'json', destination: sink });
  const withSecrets = createLogger({ level: 'info', format: 'json', destination: sink });
  withSecrets.secrets.addAll(keys(1000));
  withSecrets.info('warm-up');
  bench('no registered secrets', () => plain.info(obj, 'request completed'));
  bench('1,000 registered secrets', () => withSecrets.info(obj, 'request completed'));
});
