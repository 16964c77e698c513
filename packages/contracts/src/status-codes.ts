/** Result of parsing a status-code spec such as "400-403,405-999". */
export type StatusCodeSpec = { ok: true; ranges: Array<[number, number]> } | { ok: false; error: string };

/** Parses GPT-Load's failover status-code grammar: comma/newline separated codes and inclusive ranges. */
export function parseStatusCodeSpec(spec: string): StatusCodeSpec {
  const ranges: Array<[number, number]> = [];
  for (const raw of spec.split(/[,\n]/)) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^(\d{3})\s*(?:-\s*(\d{3}))?$/.exec(part);
    if (!m) return { ok: false, error: `"${part}" is not a status code or range` };
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 100 || hi > 999 || lo > hi) return { ok: false, error: `"${part}" is out of 100-999` };
    ranges.push([lo, hi]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return { ok: true, ranges: merged };
}

/** Builds a fast membership test for a parsed spec. */
export function statusMatcher(ranges: ReadonlyArray<readonly [number, number]>): (status: number) => boolean {
  const table = new Uint8Array(1000);
  for (const [lo, hi] of ranges) table.fill(1, lo, hi + 1);
  return (status) => status >= 0 && status < 1000 && table[status] === 1;
}
