/**
 * For the benchmark's own child scripts: exit when the parent benchmark process is gone (e.g. it was
 * SIGKILLed and could not clean up), so no server is left running in the background.
 */
export function exitWithParent(intervalMs = 500): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, intervalMs).unref();
}
