import {
  corsEnv,
  databaseEnv,
  httpServerEnv,
  loadEnv,
  logEnv,
  metricsEnv,
  secretsEnv,
  trustedProxiesEnv,
} from '@keyway/config';
import { z } from 'zod';

/** Standalone's environment: the only place that reads `process.env`. */
export const envSchema = z.object({
  ...httpServerEnv,
  ...logEnv,
  ...databaseEnv,
  ...secretsEnv,
  ...metricsEnv,
  ...corsEnv,
  ...trustedProxiesEnv,
  DATA_DIR: z.string().min(1).default('./data'),
  /** The console's build; unset: apps/console/dist beside this app's bundle. */
  CONSOLE_DIR: z.string().min(1).optional(),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; throws an EnvError listing every problem. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return loadEnv(envSchema, source);
}
