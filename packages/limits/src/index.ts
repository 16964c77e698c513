export * from './types';
export * from './rules';
export { isValidTimeZone, MINUTE_MS, periodBounds, ruleKey } from './windows';
export { LocalCounters, type LocalCountersOptions } from './local-counters';
export { RedisCounters, type RedisCounterStats, type RedisCountersOptions } from './redis-counters';
export { counterKeyNames, DEFAULT_COUNTER_PREFIX, type CounterKeyNames } from './redis-keys';
export { RedisUnavailableError } from './redis-exec';
