/** A progress figure as a task status shows it: a non-negative integer whatever the handler passed. */
export function progressCount(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0;
}
