export * from './credential';
export * from './decode';
export * from './json-peek';
export * from './model-list';
export * from './provider';
export * from './registry';
export { DEFAULT_ANTHROPIC_VERSION } from './anthropic/anthropic';
