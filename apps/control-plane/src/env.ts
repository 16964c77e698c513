import {
  booleanFromEnv,
  corsEnv,
  databaseEnv,
  httpServerEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  natsEnv,
  otelEnv,
  redisEnv,
  requiredEncryptionKeyEnv,
  secretsEnv,
  splitEncryptionKey,
  trustedProxiesEnv,
} from '@keyway/config';
import { z } from 'zod';

const fields = z.object({
  ...httpServerEnv,
  ...logEnv,
  ...databaseEnv,
  ...redisEnv,
  ...natsEnv,
  ...secretsEnv,
  // Replicas must share one key; plaintext (`off`) has to be said, never implied by a missing variable.
  ...requiredEncryptionKeyEnv,
  // No generated key here: replicas must share one, so it is configuration.
  AUTH_KEY: z.string({ message: 'is required (a long random value: openssl rand -hex 32)' }).min(1),
  ...metricsEnv,
  ...corsEnv,
  ...trustedProxiesEnv,
  ...otelEnv,
  /** The console's build; served at `/` when it holds an index.html. Unset: apps/console/dist beside the bundle. */
  CONSOLE_DIR: z.string().min(1).optional(),
  /** Mark the session cookie Secure (set it when the console is reached over HTTPS). */
  SECURE_COOKIES: booleanFromEnv(false),
});

/** The distributed control plane's environment: the only place that reads `process.env`. */
export const envSchema = fields.transform(splitEncryptionKey);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
