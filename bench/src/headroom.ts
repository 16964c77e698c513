/**
 * The rule that keeps the benchmark honest: a gateway can only be compared with another when neither the load
 * generator nor the bench upstream caps the rate. Every run also loads the bench upstream directly with the same
 * settings; if that direct rate is not at least `factor` × the fastest gateway's, the client or the upstream is
 * (close to) the bottleneck, every target looks alike, and the ratios are not reported. Pure.
 */

/** Direct must reach at least this multiple of the fastest gateway's requests/s. */
export const HEADROOM_FACTOR = 2;

export type HeadroomVerdict =
  | { ok: true; directRps: number; fastest: { name: string; rps: number }; needed: number; reason: string }
  | {
      ok: false;
      directRps: number;
      fastest: { name: string; rps: number } | null;
      needed: number;
      reason: string;
    };

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Whether ratios between `gateways` (name → median req/s) may be reported, given the direct rate. */
export function headroomVerdict(
  directRps: number,
  gateways: Readonly<Record<string, number>>,
  factor = HEADROOM_FACTOR,
): HeadroomVerdict {
  let fastest: { name: string; rps: number } | null = null;
  for (const [name, rps] of Object.entries(gateways)) {
    if (Number.isFinite(rps) && (fastest === null || rps > fastest.rps)) fastest = { name, rps };
  }
  if (fastest === null || fastest.rps <= 0) {
    return {
      ok: false,
      directRps,
      fastest,
      needed: Number.NaN,
      reason: 'no gateway produced a request rate, so there is nothing to compare',
    };
  }
  const needed = factor * fastest.rps;
  if (!Number.isFinite(directRps) || directRps <= 0) {
    return {
      ok: false,
      directRps,
      fastest,
      needed,
      reason: 'the direct run against the bench upstream produced no request rate',
    };
  }
  const head = `direct to the bench upstream ${fmt(directRps)} req/s vs the fastest gateway (${fastest.name}) ${fmt(fastest.rps)} req/s = ${(directRps / fastest.rps).toFixed(2)}×`;
  if (directRps >= needed) {
    return { ok: true, directRps, fastest, needed, reason: `${head} (≥ ${factor}× needed)` };
  }
  return {
    ok: false,
    directRps,
    fastest,
    needed,
    reason:
      `${head}, below the ${factor}× (${fmt(needed)} req/s) needed: the load generator or the bench upstream is ` +
      'the bottleneck (or the machine is busy), so every target would look alike. Ratios are not reported; ' +
      'rerun on an idle machine.',
  };
}
