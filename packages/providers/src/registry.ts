import type { Channel } from '@keyway/contracts';
import { anthropic } from './anthropic/anthropic';
import { registerCredentialSlots } from './credential';
import { gemini } from './gemini/gemini';
import { openai } from './openai/openai';
import { openaiResponse } from './openai-response/openai-response';
import type { Provider } from './provider';

/** Every channel's provider; the compiler checks that none is missing. A new channel: its folder + one line. */
export const providers = {
  openai,
  'openai-response': openaiResponse,
  anthropic,
  gemini,
} satisfies Record<Channel, Provider>;

const registry = new Map<string, Provider>();
const accountHeaderNames = new Set<string>();

/**
 * Adds a provider to the ones the gateway serves. The built-in channels above come in through here at load; a
 * test build registers a fake channel the same way, and everything channel-wide (credential slots, account
 * headers, root paths, model lists) then covers it.
 */
export function registerProvider(provider: Provider): void {
  registry.set(provider.id, provider);
  registerCredentialSlots(provider.credentials);
  for (const h of provider.accountHeaders) accountHeaderNames.add(h.toLowerCase());
}

for (const p of Object.values(providers)) registerProvider(p);

/** The provider of a channel. */
export function providerFor(channel: Channel): Provider {
  const p = registry.get(channel);
  if (!p) throw new Error(`no provider registered for channel ${channel}`);
  return p;
}

/** Every registered provider, built-in channels first. */
export function registeredProviders(): Provider[] {
  return [...registry.values()];
}

/** Whether a (lower-case) upstream response header names the account behind a key in some channel. */
export function isAccountHeader(name: string): boolean {
  return accountHeaderNames.has(name);
}

function prefixLength(path: string, prefix: string): number {
  if (!path.startsWith(prefix)) return -1;
  const next = path[prefix.length];
  return next === undefined || next === '/' || next === '?' || next === ':' ? prefix.length : -1;
}

/**
 * The provider serving `path` at the gateway root (key-routed endpoints): the longest of the channels' root
 * paths that `path` starts with at a segment boundary, or null. On a tie the first registered channel wins.
 */
export function providerForPath(path: string): Provider | null {
  let best: Provider | null = null;
  let bestLength = -1;
  for (const p of registry.values()) {
    for (const prefix of p.rootPaths) {
      const n = prefixLength(path, prefix);
      if (n > bestLength) {
        best = p;
        bestLength = n;
      }
    }
  }
  return best;
}

/** Whether `path` at the gateway root belongs to `provider`'s channel. */
export function ownsPath(provider: Provider, path: string): boolean {
  return providerForPath(path)?.id === provider.id;
}
