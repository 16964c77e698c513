/**
 * Every kind of secret Keyway knows, in one place. A value of each class is registered with the process's
 * {@link SecretRegistry} where it becomes known in plaintext, and masked through it in everything that leaves the
 * process (HTTP responses, log lines, stored request logs, CSV export, metrics, audit). The leak-scan suite
 * (`apps/standalone/test/attacks/09-leak-scan.test.ts`) plants a sentinel of every class listed here: a class
 * added here without a way to plant it there does not compile.
 */
export const SECRET_CLASSES = {
  // Not registered process-wide: masked as a per-request extra (`maskText(text, [key])`) by the two places that
  // send one (the gateway's attempt, the worker's validation), since only the upstream it went to can echo it.
  // Measured: 100,000 keys in a registry cost 42 MB, 2.2 s to build its matcher and 1.5 s per rebuild after an add.
  upstreamKey: {
    description: 'an upstream provider API key of a group',
    knownAt: 'the attempt that sends it upstream, and the validation request that tests it',
  },
  proxyKey: {
    description: 'a global or group proxy key (stored only as a hash)',
    knownAt: 'written through PATCH /api/settings or the groups API, or presented by a caller',
  },
  authKey: {
    description: 'AUTH_KEY, the admin key',
    knownAt: 'start-up (environment or the generated file in the data directory)',
  },
  encryptionKey: {
    description: 'ENCRYPTION_KEY, which encrypts upstream keys at rest',
    knownAt: 'start-up (environment or the generated file in the data directory)',
  },
  metricsToken: {
    description: 'METRICS_TOKEN, the bearer token of /metrics',
    knownAt: 'start-up (environment)',
  },
  alertChannel: {
    description: "an alert channel's URL (chat webhook URLs carry their token) and signing secret",
    knownAt: 'written through the alerts API, or opened to show or test a channel',
  },
} as const satisfies Record<string, { description: string; knownAt: string }>;

/** One kind of secret (`upstreamKey`, `proxyKey`, `authKey` …). */
export type SecretClass = keyof typeof SECRET_CLASSES;

/** Every class name, in declaration order. */
export const SECRET_CLASS_NAMES = Object.keys(SECRET_CLASSES) as SecretClass[];
