export * from './classify';
export * from './errors';
export * from './key-health';
export * from './mask';
export * from './weighted';
export * from './header-rules';
export * from './egress';
export type { LogPort } from './log-port';
export { uuidv7 } from './uuid7';
