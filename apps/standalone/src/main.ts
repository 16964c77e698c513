import { EncryptionMismatchError, KeyDecryptError, defaultConsoleDir } from '@keyway/control-plane';
import { boot, fail, runMain, startServer } from '@keyway/server';
import { isProxyTarget } from '@keyway/gateway';
import { createServing } from './app';
import { resolveAuthKey } from './auth-key';
import { buildDeps } from './deps';
import type { StandaloneDeps } from './deps';
import { readEnv } from './env';

const NAME = 'keyway';

runMain(NAME, async () => {
  const { env, logger } = boot(NAME, readEnv);
  let auth: ReturnType<typeof resolveAuthKey>;
  try {
    auth = resolveAuthKey(env.AUTH_KEY, env.DATA_DIR);
  } catch (e) {
    fail(NAME, (e as Error).message);
  }
  logger.registerSecret(auth.key, 'authKey');
  if (auth.loose)
    logger.warn(
      { file: auth.loose.file, mode: auth.loose.mode.toString(8) },
      'the admin key file is readable by other users and could not be made private: restrict it (chmod 600) or its directory',
    );
  if (auth.source === 'generated') {
    // Printed once, straight to the terminal (not through the redacting logger), so the operator can log in.
    process.stdout.write(
      `\n  Keyway generated an admin key (AUTH_KEY). It is shown only this once and kept in ${auth.file}:\n\n    ${auth.key}\n\n`,
    );
  }

  let deps: StandaloneDeps;
  try {
    deps = await buildDeps(env, auth.key, logger);
  } catch (e) {
    if (e instanceof EncryptionMismatchError || e instanceof KeyDecryptError) fail(NAME, e.message);
    throw e;
  }
  const { app, proxy } = createServing(deps, {
    consoleDir: env.CONSOLE_DIR ?? defaultConsoleDir(import.meta.url),
  });
  startServer({
    name: 'Keyway standalone',
    fetch: app.fetch,
    port: env.PORT,
    host: env.HOST,
    logger,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
    close: deps.close,
    direct: (req, res) => {
      if (!isProxyTarget(req.url)) return false;
      void proxy(req, res);
      return true;
    },
  });
});
