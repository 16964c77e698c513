import {
  httpServerEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  natsEnv,
  portSchema,
  redisEnv,
  secretsEnv,
  trustedProxiesEnv,
} from '@keyway/config';
import { z } from 'zod';

/** The distributed gateway's environment: the only place that reads `process.env`. */
export const envSchema = z.object({
  ...httpServerEnv,
  PORT: portSchema(3000),
  ...logEnv,
  ...redisEnv,
  ...natsEnv,
  ENCRYPTION_KEY: secretsEnv.ENCRYPTION_KEY,
  ...metricsEnv,
  ...trustedProxiesEnv,
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
