import type { RequestLogRecord } from '@keyway/contracts';
import { costUsd, lookupPrice } from '@keyway/contracts';
import type { GatewayRuntime } from './runtime';

/**
 * A finished request's cost from the price table: the price of the model that served (the one the client named,
 * after the serving group's redirect), applied to the tokens the provider reported. Null when no usage was
 * reported or the model has no price (the dashboard lists it as unpriced).
 */
export function recordCost(runtime: GatewayRuntime, record: RequestLogRecord): number | null {
  if (record.model === null || (record.promptTokens === null && record.completionTokens === null))
    return null;
  // The model sent upstream by the attempt that served (an alias expanded, a redirect applied); records without
  // attempt models (older or refused ones) fall back to the client's model through the group's redirect.
  const served = record.attempts.at(-1)?.model;
  const redirects = runtime.groupsById.get(record.groupId)?.modelRedirects;
  const price = lookupPrice(runtime.prices, served ?? redirects?.[record.model] ?? record.model);
  if (!price) return null;
  return costUsd(price, {
    prompt: record.promptTokens ?? 0,
    cached: record.cachedTokens ?? 0,
    completion: record.completionTokens ?? 0,
  });
}
