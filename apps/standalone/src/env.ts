import {
  corsEnv,
  databaseEnv,
  httpServerEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  otelEnv,
  secretsEnv,
  splitEncryptionKey,
  trustedProxiesEnv,
} from '@keyway/config';
import { z } from 'zod';

/** Standalone's environment: the only place that reads `process.env`. */
const fields = z.object({
  ...httpServerEnv,
  ...logEnv,
  ...databaseEnv,
  ...secretsEnv,
  ...metricsEnv,
  ...corsEnv,
  ...trustedProxiesEnv,
  ...otelEnv,
  DATA_DIR: z.string().min(1).default('./data'),
  /** The console's build; unset: apps/console/dist beside this app's bundle. */
  CONSOLE_DIR: z.string().min(1).optional(),
});

/**
 * Unset ENCRYPTION_KEY means "the key kept in DATA_DIR (generated on first start)", not "unencrypted": opting out
 * takes the explicit `off`, which is turned into `encryptionOff` here so no code mistakes it for a key.
 */
export const envSchema = fields.transform(splitEncryptionKey);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
