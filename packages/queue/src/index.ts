export { QueueUnavailableError } from './bullmq-connection';
export type { QueueRedisConnection, QueueRedisOptions } from './bullmq-connection';
export * from './bullmq-job-queue';
export * from './memory-job-queue';
export * from './names';
export * from './payloads';
export * from './port';
