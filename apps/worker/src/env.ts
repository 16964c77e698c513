import {
  databaseEnv,
  httpServerEnv,
  intFromEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  natsEnv,
  otelEnv,
  portSchema,
  redisEnv,
  requiredEncryptionKeyEnv,
  splitEncryptionKey,
} from '@keyway/config';
import { z } from 'zod';

const fields = z.object({
  ...httpServerEnv,
  /** Serves only /health, /ready and /metrics. */
  PORT: portSchema(3002),
  ...logEnv,
  ...databaseEnv,
  ...redisEnv,
  ...natsEnv,
  ...requiredEncryptionKeyEnv,
  ...metricsEnv,
  ...otelEnv,
  /** Period of the scheduled key re-check, in seconds (each group's own interval decides what is due). */
  RECHECK_EVERY_SECONDS: intFromEnv(300, { min: 1, max: 86_400 }),
  /** `key-validate` tasks run at once in this process. */
  VALIDATE_CONCURRENCY: intFromEnv(2, { min: 1, max: 64 }),
});

/** The worker's environment: the only place that reads `process.env`. */
export const envSchema = fields.transform(splitEncryptionKey);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
