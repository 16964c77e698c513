/** Settings shared by the fuzz suites: one seed per run (printed, replayable) and a run-count scale. */
export interface FuzzRun {
  /** `FUZZ_SEED` when set, else random; every property of the run uses it. */
  seed: number;
  /** Cases for a property whose default is `n`, scaled by `FUZZ_SCALE` (default 1), at least 1. */
  runs(n: number): number;
}

/**
 * Reads `FUZZ_SEED` / `FUZZ_SCALE` and prints the seed, so a failing CI run can be replayed exactly:
 * `FUZZ_SEED=<seed> pnpm exec vitest run <file>`.
 */
export function fuzzRun(suite: string): FuzzRun {
  const given = process.env.FUZZ_SEED;
  const seed =
    given !== undefined && /^-?\d+$/.test(given.trim())
      ? Number(given.trim()) | 0
      : (Math.random() * 2 ** 31) | 0;
  const scaleText = process.env.FUZZ_SCALE;
  const scale = scaleText !== undefined && Number(scaleText) > 0 ? Number(scaleText) : 1;
  console.log(`[fuzz] ${suite}: seed ${seed} (replay with FUZZ_SEED=${seed}), scale ${scale}`);
  return { seed, runs: (n) => Math.max(1, Math.round(n * scale)) };
}

/** Resident set size of this process in MiB. */
export function rssMiB(): number {
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}
