export * from './common';
export * from './dashboard';
export * from './groups';
export * from './keys';
export * from './logs';
export * from './settings';
export * from './status-codes';
export * from './snapshot';
