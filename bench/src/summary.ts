/**
 * The end of the report, as markdown ready to paste into the README: the issue's goals with this run's figures,
 * then one table with every figure per target. Pure.
 */
import type { TargetName } from './args';
import { fmt, int, LABELS, signed, type Num } from './format';
import type { PairedFigures, Report, TargetFigures } from './report';

/** "Scale: the same req/s" counts as met within this fraction of standalone's rate. */
export const SCALE_TOLERANCE = 0.05;
/** Goals of issue 12 (ms over bare; MiB). */
export const GOALS = {
  oneConnAddedMs: 0.1,
  firstByteAddedMs: 0.3,
  standaloneRssMiB: 200,
  distributedRssMiB: 120,
} as const;

const NA = '–';
const KEYWAY: readonly TargetName[] = [
  'standalone',
  'standalone-nolog',
  'distributed',
  'standalone-100k',
  'standalone-200groups',
  'standalone-accesskey',
  'standalone-pool',
];

/** `| a | b |` rows with a separator after the header; the first column left-aligned, the others right. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((w, i) => (i === 0 ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

/** `value (min–max)` of `values` when there are several, else `value`. */
function withRange(value: Num, values: readonly Num[], f: (v: Num) => string): string {
  const known = values.filter((v): v is number => v !== null);
  if (value === null || known.length < 2) return f(value);
  return `${f(value)} (${f(Math.min(...known))}–${f(Math.max(...known))})`;
}

/** `12,345 (11,900–12,800)` for several rounds, `12,345` for one. */
export function rpsCell(t: Pick<TargetFigures, 'load' | 'roundsRps'>): string {
  return withRange(t.load.rps, t.roundsRps, int);
}

/**
 * ` (paired)` when a goal's ratio of scale target `name` to standalone is the median of its back-to-back pairs
 * (ratios reported and a paired median known), else ''.
 */
export function pairedTag(
  r: Pick<Report, 'paired' | 'ratios'>,
  name: TargetName,
  kind: 'rps' | 'cpu',
): string {
  const p = r.paired?.[name];
  const v = kind === 'rps' ? p?.medianRpsRatio : p?.medianCpuRatio;
  return r.ratios !== null && v !== null && v !== undefined ? ' (paired)' : '';
}

/** The scale targets' back-to-back pairs with standalone: per target, the median per-pair ratios (min–max). */
export function pairedLines(r: Pick<Report, 'paired' | 'ratios'>): string[] {
  const entries = Object.entries(r.paired ?? {}) as Array<[TargetName, PairedFigures]>;
  const first = entries[0]?.[1];
  if (!first) return [];
  const three = (v: Num): string => fmt(v, 3);
  return [
    `Paired with standalone (${first.pairs} back-to-back pairs of ${first.pairDurationSec} s, order alternating; ` +
      `median of the per-pair ratios, min–max)${r.ratios ? '' : ', not used for the goals: ratios refused (headroom)'}:`,
    ...entries.map(
      ([name, p]) =>
        `- ${LABELS[name]}: req/s ${withRange(p.medianRpsRatio, p.rpsRatios, three)}, ` +
        `CPU/request ${withRange(p.medianCpuRatio, p.cpuRatios, three)}`,
    ),
  ];
}

/** The RSS the memory goals are about: after the soak when there was one, else after the load rounds. */
export function rssCell(t: Pick<TargetFigures, 'memory'>): string {
  const m = t.memory;
  if (!m) return NA;
  return m.rssAfterSoakMiB !== null ? `${fmt(m.rssAfterSoakMiB, 0)} (soak)` : fmt(m.rssAfterLoadMiB, 0);
}

const verdict = (ok: boolean | null): string => (ok === null ? NA : ok ? 'yes' : 'NO');
const atMost = (v: Num, limit: number): boolean | null => (v === null ? null : v <= limit);

/** The issue's goals, one row per figure of this run, with whether it is met. */
export function goalsMarkdown(r: Report): string[] {
  const byName = new Map(r.targets.map((t) => [t.name, t]));
  const refused = r.ratios === null ? 'refused (headroom)' : null;
  const rows: string[][] = [];
  const ratioRow = (goal: string, value: Num, ok: boolean | null = null, tag = ''): void => {
    rows.push([goal, refused ?? `${fmt(value, 3)}${tag}`, refused ? NA : verdict(ok)]);
  };
  const x = r.ratios;
  if (byName.has('standalone'))
    ratioRow('req/s: standalone (logging all) / bare', x?.standaloneOverBare ?? null);
  if (byName.has('standalone-nolog'))
    ratioRow('req/s: standalone (logging off) / bare', x?.standaloneNologOverBare ?? null);
  if (byName.has('distributed')) {
    ratioRow('req/s: distributed / standalone', x?.distributedOverStandalone ?? null);
    const d = byName.get('distributed');
    rows.push([
      'CPU/request: distributed gateway / bare (+ helpers µs/req)',
      `${fmt(d?.cpuVsBare ?? null)} (+${fmt(d?.load.helpersCpuUsPerReq ?? null, 0)} µs)`,
      NA,
    ]);
  }
  for (const t of r.targets.filter((t) => KEYWAY.includes(t.name))) {
    const added = t.oneConnection?.addedOverBareMs ?? null;
    rows.push([
      `1-conn p50 ≤ bare + ${GOALS.oneConnAddedMs} ms: ${LABELS[t.name]}`,
      `${signed(added)} ms`,
      verdict(atMost(added, GOALS.oneConnAddedMs)),
    ]);
  }
  for (const t of r.targets.filter((t) => KEYWAY.includes(t.name))) {
    const added = t.stream.addedFirstByteOverBareMs;
    const ok = atMost(added, GOALS.firstByteAddedMs);
    rows.push([
      `stream 1st byte ≤ bare + ${GOALS.firstByteAddedMs} ms, every event its own chunk: ${LABELS[t.name]}`,
      `${signed(added)} ms, ${t.stream.everyEventOwnChunk ? 'own chunks' : 'events MERGED'}`,
      verdict(ok === null ? null : ok && t.stream.everyEventOwnChunk),
    ]);
  }
  const soaked =
    r.config.soakSec > 0
      ? `after a ${r.config.soakSec} s, ${r.config.connections}-connection soak`
      : 'after the load rounds (no soak)';
  const memRow = (name: TargetName, limit: number): void => {
    const t = byName.get(name);
    if (!t) return;
    const rss = t.memory?.rssAfterSoakMiB ?? t.memory?.rssAfterLoadMiB ?? null;
    rows.push([
      `RSS ≤ ${limit} MiB ${soaked}: ${LABELS[name]}`,
      `${fmt(rss, 0)} MiB`,
      verdict(r.config.soakSec > 0 ? atMost(rss, limit) : null),
    ]);
  };
  memRow('standalone', GOALS.standaloneRssMiB);
  memRow('distributed', GOALS.distributedRssMiB);
  const scale = (name: TargetName, goal: string, value: Num): void => {
    if (byName.has(name))
      ratioRow(goal, value, value === null ? null : value >= 1 - SCALE_TOLERANCE, pairedTag(r, name, 'rps'));
  };
  scale(
    'standalone-100k',
    'same req/s with 100,000 keys as with 3 (/ standalone, ≥ 0.95)',
    x?.standalone100kOverStandalone ?? null,
  );
  scale(
    'standalone-200groups',
    'same req/s with 200 groups as with 1 (/ standalone, ≥ 0.95)',
    x?.standalone200groupsOverStandalone ?? null,
  );
  scale(
    'standalone-accesskey',
    'access key with limits at most 5% slower than a bare proxy key (/ standalone, ≥ 0.95; issue 13)',
    x?.standaloneAccessKeyOverStandalone ?? null,
  );
  scale(
    'standalone-pool',
    'key pacing and affinity on at most 5% slower than off (/ standalone, ≥ 0.95; issue 14)',
    x?.standalonePoolOverStandalone ?? null,
  );
  if (byName.has('standalone-translated')) {
    const v = x?.standaloneTranslatedCpuOverStandalone ?? null;
    ratioRow(
      'CPU/request: Anthropic caller translated / native OpenAI caller (standalone, ≤ 1.15; issue 17)',
      v,
      v === null ? null : v <= 1.15,
      pairedTag(r, 'standalone-translated', 'cpu'),
    );
  }
  if (byName.has('standalone-traced')) {
    const v = x?.standaloneTracedCpuOverStandalone ?? null;
    ratioRow(
      'CPU/request: tracing on / off (standalone, ≤ 1.05; issue 16)',
      v,
      v === null ? null : v <= 1.05,
      pairedTag(r, 'standalone-traced', 'cpu'),
    );
  }
  return ['Goals (issues 12, 13, 14, 16, 17)', '', ...markdownTable(['goal', 'this run', 'met'], rows)];
}

/** Every figure per target in one markdown table, with the notes a reader needs above it. */
export function summaryMarkdown(r: Report): string[] {
  const c = r.config;
  const bareOrDirect = (t: TargetFigures): boolean => t.name === 'bare' || t.name === 'direct';
  const rows = r.targets.map((t) => [
    LABELS[t.name],
    rpsCell(t),
    r.ratios ? fmt(t.vsBare) : 'refused',
    bareOrDirect(t) ? NA : r.ratios ? fmt(t.vsStandalone) : 'refused',
    t.name === 'direct' ? NA : fmt(t.load.gatewayCpuUsPerReq, 0),
    bareOrDirect(t) ? NA : fmt(t.cpuVsBare),
    t.load.helpersCpuUsPerReq === null ? NA : fmt(t.load.helpersCpuUsPerReq, 0),
    fmt(t.oneConnection?.p50Ms ?? null, 3),
    t.name === 'bare' ? NA : signed(t.oneConnection?.addedOverBareMs ?? null),
    fmt(t.stream.firstByteP50Ms, 3),
    t.name === 'bare' ? NA : signed(t.stream.addedFirstByteOverBareMs),
    t.stream.everyEventOwnChunk ? 'yes' : 'NO',
    rssCell(t),
  ]);
  return [
    `Summary: req/s = median of ${c.rounds} round(s) of ${c.durationSec} s at ${c.connections} connections (min–max), ` +
      `ratios from the same run${r.ratios ? '' : ' (refused: the direct run had no 2× headroom)'}; CPU = µs per request ` +
      `of the gateway process (helpers: distributed's worker, PostgreSQL, Redis, control plane, NATS); latencies in ms, ` +
      `Δ = over bare; RSS in MiB${c.soakSec > 0 ? ` after a ${c.soakSec} s soak where marked, else` : ''} right after the load rounds.`,
    '',
    ...markdownTable(
      [
        'target',
        'req/s',
        'vs bare',
        'vs standalone',
        'CPU µs/req',
        'CPU vs bare',
        'helpers µs/req',
        '1-conn p50',
        'Δ',
        'stream 1st byte',
        'Δ',
        'own chunks',
        'RSS MiB',
      ],
      rows,
    ),
    ...(r.paired ? ['', ...pairedLines(r)] : []),
  ];
}
