/**
 * The environment a package.json start script sets before `node` where `given` has not: its
 * `NAME=${NAME:-value}` prefixes (as the apps' `start` scripts set glibc's malloc tunables).
 */
export function startScriptDefaults(
  script: string,
  given: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name = '', value = ''] of script.matchAll(/(?:^|\s)([A-Z_]+)=\$\{\1:-([^}\s]*)\}(?=\s)/g)) {
    if (given[name] === undefined) env[name] = value;
  }
  return env;
}
