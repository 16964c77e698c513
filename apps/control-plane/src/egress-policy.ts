import { networkInterfaces } from 'node:os';
import type { Upstream, ValidationIssue } from '@keyway/contracts';
import { PROXY_URL_MESSAGES, defaultSettings, isMaskedProxyUrl, maskProxyUrl } from '@keyway/contracts';
import { AppError, checkUpstreamUrl } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import type { Context } from 'hono';
import type { CpEnv } from './context';
import type { StoredSettings } from './settings-store';

/** Every address of this machine's interfaces (an upstream there on the listen port is the gateway itself). */
export function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

/**
 * The egress policy upstream URLs are written under: `egressBlockPrivate` from the settings, and this process's
 * own address — the port the admin request arrived on (in standalone the same port serves `/proxy`), the
 * machine's addresses, and `appUrl` when it was set (the default says nothing about where the gateway is).
 */
export function writePolicy(
  c: Context<CpEnv>,
  settings: Pick<StoredSettings, 'egressBlockPrivate' | 'appUrl'>,
): EgressPolicy {
  const port = (c.env as { incoming?: { socket?: { localPort?: number } } } | undefined)?.incoming?.socket
    ?.localPort;
  const origins = settings.appUrl === defaultSettings.appUrl ? [] : [settings.appUrl];
  return {
    blockPrivate: settings.egressBlockPrivate,
    self: { ...(port ? { port, addresses: ownAddresses() } : {}), origins },
  };
}

/**
 * An egress proxy URL of a write: its masked form (what a GET showed, sent back) stands for the stored URL it
 * masks; the host is judged by the egress policy. `problem` says why it cannot be stored (null: it can).
 */
export function resolveProxyUrl(
  url: string,
  stored: readonly string[],
  policy: EgressPolicy,
): { url: string; problem: string | null } {
  const full = isMaskedProxyUrl(url) ? stored.find((s) => maskProxyUrl(s) === url) : url;
  if (full === undefined) return { url, problem: PROXY_URL_MESSAGES.masked };
  const why = checkUpstreamUrl(full, policy);
  return { url: full, problem: why ? `not allowed: ${why}` : null };
}

/** 400 VALIDATION_FAILED naming each upstream (`upstreams.N.url`) the egress policy refuses. */
export function assertUpstreamsAllowed(upstreams: readonly Upstream[], policy: EgressPolicy): void {
  const problems: ValidationIssue[] = upstreams.flatMap((u, i) => {
    const why = checkUpstreamUrl(u.url, policy);
    return why ? [{ path: `upstreams.${i}.url`, message: `not allowed: ${why}` }] : [];
  });
  if (problems.length > 0)
    throw AppError.validation(problems, 'An upstream URL is not allowed by the egress policy');
}
