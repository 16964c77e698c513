export * from './memory-job-queue';
export * from './names';
export * from './payloads';
export * from './port';
