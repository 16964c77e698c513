import {
  httpServerEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  natsEnv,
  otelEnv,
  portSchema,
  redisEnv,
  requiredEncryptionKeyEnv,
  splitEncryptionKey,
  trustedProxiesEnv,
} from '@keyway/config';
import { z } from 'zod';

const fields = z.object({
  ...httpServerEnv,
  PORT: portSchema(3000),
  ...logEnv,
  ...redisEnv,
  ...natsEnv,
  ...requiredEncryptionKeyEnv,
  ...metricsEnv,
  ...trustedProxiesEnv,
  ...otelEnv,
});

/** The distributed gateway's environment: the only place that reads `process.env`. */
export const envSchema = fields.transform(splitEncryptionKey);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
