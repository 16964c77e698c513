import type { SecretRegistry } from '@keyway/observability';
import { secretsOf } from '@keyway/observability';
import type { ControlPlaneDeps } from './context';

/**
 * The process's secret registry (the logger's, shared with the gateway in standalone): text the admin API shows
 * from storage or from an upstream (`lastError`, log errors, task results) is masked through it.
 */
export function cpSecrets(deps: Pick<ControlPlaneDeps, 'logger'>): SecretRegistry {
  return secretsOf(deps.logger);
}

/**
 * Proxy keys are stored only as hashes, so their plaintext is known when they are written: registered then, they
 * are masked wherever an upstream echoes them later. A masked value sent back (`kw-ab…9f3c`) is no key.
 */
export function registerProxyKeys(
  deps: Pick<ControlPlaneDeps, 'logger'>,
  values: readonly string[] | undefined,
): void {
  if (!values || values.length === 0) return;
  const secrets = cpSecrets(deps);
  for (const v of values) if (!v.includes('…')) secrets.add(v, 'proxyKey');
}
