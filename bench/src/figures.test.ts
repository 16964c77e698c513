import { describe, expect, it } from 'vitest';
import type { TargetName } from './args';
import type { Timing } from './client';
import { buildFigures, type Collected, type PairRun } from './figures';
import type { LoadRun } from './measure';
import { renderReport, type Report } from './report';
import type { RunningTarget } from './targets';

const targetsOf = (list: TargetName[]): RunningTarget[] =>
  list.map((name) => ({
    name,
    url: `http://127.0.0.1:1/${name}`,
    headers: {},
    proc: undefined,
    upstreamKeys: name.startsWith('standalone') ? ['sk-1'] : undefined,
    helpers: undefined,
  }));

function loadRun(rps: number, cpu: number | null): LoadRun {
  const requests = rps * 10;
  return {
    requests,
    durationSec: 10,
    rps,
    bytes: requests * 500,
    p50Ms: 6,
    p90Ms: 8,
    p99Ms: 12,
    maxMs: 40,
    meanMs: 6.5,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    loadGenCpuSec: 1,
    upstreamSaw: requests,
    upstreamKeys: { 'sk-1': requests },
    gatewayCpuUsPerReq: cpu,
    upstreamCpuUsPerReq: 60,
    loadGenCpuUsPerReq: 10,
    otherCpuSec: 0,
    helpersCpuUsPerReq: null,
    helpersCpuUsPerReqBy: null,
  };
}
const stream: Timing = {
  status: 200,
  headersMs: 1,
  firstByteMs: 1.2,
  totalMs: 25,
  reads: 11,
  sseEvents: 11,
  bytes: 900,
};

function collect(rps: Partial<Record<TargetName, number[]>>): Collected {
  const c: Collected = {
    loads: new Map(),
    oneConn: new Map(),
    streams: new Map(),
    memory: new Map(),
    soaks: new Map(),
    pairs: new Map(),
    pairDurationSec: 4,
  };
  for (const n of Object.keys(rps) as TargetName[]) {
    c.loads.set(
      n,
      (rps[n] ?? []).map((r) => loadRun(r, n === 'direct' ? null : 300)),
    );
    c.oneConn.set(n, [{ ...loadRun(1_000, null), p50Ms: n === 'direct' ? 0.4 : 0.9 }]);
    c.streams.set(n, [stream, stream]);
  }
  return c;
}

/** Pairs from [standalone req/s, target req/s, standalone CPU µs/req, target CPU µs/req] each. */
const pairsOf = (list: Array<[number, number, number, number]>): PairRun[] =>
  list.map(([sRps, tRps, sCpu, tCpu]) => ({ standalone: loadRun(sRps, sCpu), target: loadRun(tRps, tCpu) }));

function report(c: Collected, soakSec = 0): Report {
  const list = [...c.loads.keys()];
  const f = buildFigures(targetsOf(list), c);
  return {
    machine: {
      cpus: 2,
      cpuModel: 'test',
      memoryGiB: 4,
      platform: 'linux x64',
      node: 'v20',
      loadAvgAtStart: [0],
    },
    config: {
      targets: list,
      connections: 64,
      threads: 2,
      warmupSec: 1,
      durationSec: 10,
      rounds: 3,
      latencySec: 1,
      streamSamples: 2,
      streamDelayMs: 2,
      streamChunks: 8,
      bodyBytes: 307,
      bareMode: 'response',
      quietWaitSec: 0,
      soakSec,
      pairs: Math.max(0, ...[...c.pairs.values()].map((p) => p.length)),
      pairDurationSec: c.pairDurationSec,
      wrk: 'test',
      bare: 'hono test',
      quick: true,
    },
    ...f,
    finishedAt: 'now',
    elapsedSec: 1,
  };
}

describe('the figures of one run', () => {
  it('reports the median round and ratios to bare when direct had twice the headroom', () => {
    const r = report(
      collect({
        direct: [30_000, 31_000, 29_000],
        bare: [9_000, 8_000, 10_000],
        standalone: [8_100, 9_000, 7_000],
      }),
    );
    expect(r.headroom.ok).toBe(true);
    expect(r.targets.find((t) => t.name === 'bare')?.load.rps).toBe(9_000);
    expect(r.ratios?.standaloneOverBare).toBe(0.9);
    expect(r.targets.find((t) => t.name === 'standalone')?.vsBare).toBe(0.9);
    expect(r.roundRatios?.['standalone/bare']).toEqual([0.9, 1.125, 0.7]);
    const text = renderReport(r);
    expect(text).toMatch(/standalone\/bare 0\.900/);
    expect(text).not.toMatch(/REFUSED/);
  });

  it('refuses every req/s ratio, and says why, when direct is below twice the fastest gateway', () => {
    const r = report(
      collect({
        direct: [5_400, 5_300, 5_500],
        bare: [3_000, 2_900, 3_100],
        standalone: [2_950, 2_900, 3_000],
      }),
    );
    expect(r.headroom.ok).toBe(false);
    expect(r.ratios).toBeNull();
    expect(r.roundRatios).toBeNull();
    expect(r.targets.every((t) => t.vsBare === null)).toBe(true);
    expect(r.checks.find((c) => c.name.startsWith('method:'))?.ok).toBe(false);
    const text = renderReport(r);
    expect(text).toMatch(/RATIOS REFUSED: .*load generator or the bench upstream is the bottleneck/);
    expect(text).toMatch(/\| standalone, logging all +\| +2,950 \(2,900–3,000\) \| +refused \|/);
    expect(text).not.toMatch(/standalone\/bare/);
  });

  it('gives one-connection and first-byte delays over bare', () => {
    const r = report(collect({ direct: [30_000], bare: [9_000], standalone: [8_500] }));
    const s = r.targets.find((t) => t.name === 'standalone');
    expect(s?.oneConnection?.addedOverBareMs).toBe(0);
    expect(r.targets.find((t) => t.name === 'direct')?.oneConnection?.addedOverBareMs).toBe(-0.5);
    expect(s?.stream.addedFirstByteOverBareMs).toBe(0);
  });

  it('compares the scale targets with standalone from the same rounds', () => {
    const r = report(
      collect({
        direct: [40_000, 40_000],
        bare: [9_000, 9_000],
        standalone: [8_000, 8_200],
        'standalone-100k': [7_600, 8_200],
        'standalone-200groups': [6_000, 6_150],
      }),
    );
    expect(r.ratios?.standalone100kOverStandalone).toBe(0.95);
    expect(r.ratios?.standalone200groupsOverStandalone).toBe(0.75);
    expect(r.roundRatios?.['standalone-100k/standalone']).toEqual([0.95, 1]);
    expect(r.targets.find((t) => t.name === 'standalone-200groups')?.vsStandalone).toBe(0.75);
    const text = renderReport(r);
    expect(text).toMatch(/\| same req\/s with 100,000 keys as with 3 .*\| +0\.950 \| +yes \|/);
    expect(text).toMatch(/\| same req\/s with 200 groups as with 1 .*\| +0\.750 \| +NO \|/);
  });

  it('says so when a gateway merged streamed events into fewer chunks', () => {
    const c = collect({ direct: [30_000], bare: [9_000], standalone: [8_500] });
    c.streams.set('standalone', [stream, { ...stream, reads: 4 }]);
    const r = report(c);
    expect(r.targets.find((t) => t.name === 'standalone')?.stream.everyEventOwnChunk).toBe(false);
    expect(
      r.checks.find((x) => x.name === 'standalone: every streamed event arrives as its own chunk')?.ok,
    ).toBe(false);
    expect(renderReport(r)).toMatch(/events MERGED \| +NO \|/);
  });

  it('judges the memory goal on the RSS after the soak', () => {
    const c = collect({ direct: [30_000], bare: [9_000], standalone: [8_500] });
    c.memory.set('standalone', { rssAfterLoadMiB: 180, rssAfterSoakMiB: 212, peakRssMiB: 220 });
    const text = renderReport(report(c, 30));
    expect(text).toMatch(
      /\| RSS ≤ 200 MiB after a 30 s, 64-connection soak: standalone, logging all +\| +212 MiB \| +NO \|/,
    );
    expect(text).toMatch(/\| +212 \(soak\) \|\n/);
  });

  describe('back-to-back pairs with standalone', () => {
    // rounds alone: access key 6,000 / 8,000 = 0.75 req/s, every CPU 300 µs/req (ratio 1)
    const rounds = {
      direct: [40_000],
      bare: [9_000],
      standalone: [8_000],
      'standalone-accesskey': [6_000],
      'standalone-pool': [7_200],
      'standalone-translated': [7_000],
      'standalone-traced': [7_000],
    };
    // per-pair req/s ratios 0.9, 1.05, 0.975, 1.2, 0.95 (median 0.975); CPU 1.1, 1, 1.04, 0.9, 1.15 (median 1.04)
    const five = pairsOf([
      [8_000, 7_200, 300, 330],
      [8_000, 8_400, 300, 300],
      [8_000, 7_800, 300, 312],
      [8_000, 9_600, 300, 270],
      [8_000, 7_600, 300, 345],
    ]);

    it('takes the median of the per-pair ratios, and the goals use it over the median rounds', () => {
      const c = collect(rounds);
      c.pairs.set('standalone-accesskey', five);
      c.pairs.set('standalone-translated', five);
      c.pairs.set('standalone-traced', five);
      const r = report(c);
      expect(r.paired?.['standalone-accesskey']).toEqual({
        pairs: 5,
        pairDurationSec: 4,
        rpsRatios: [0.9, 1.05, 0.975, 1.2, 0.95],
        cpuRatios: [1.1, 1, 1.04, 0.9, 1.15],
        medianRpsRatio: 0.975,
        medianCpuRatio: 1.04,
      });
      expect(r.ratios?.standaloneAccessKeyOverStandalone).toBe(0.975);
      expect(r.ratios?.standaloneTranslatedCpuOverStandalone).toBe(1.04);
      expect(r.ratios?.standaloneTracedCpuOverStandalone).toBe(1.04);
      // the table keeps the rounds' medians
      expect(r.targets.find((t) => t.name === 'standalone-accesskey')?.vsStandalone).toBe(0.75);
      const text = renderReport(r);
      expect(text).toMatch(/\| access key with limits at most 5% slower .*\| +0\.975 \(paired\) \| +yes \|/);
      expect(text).toMatch(/\| CPU\/request: tracing on \/ off .*\| +1\.040 \(paired\) \| +yes \|/);
      expect(text).toMatch(/Paired with standalone \(5 back-to-back pairs of 4 s, order alternating;/);
      expect(text).toMatch(
        /- standalone, access key with limits: req\/s 0\.975 \(0\.900–1\.200\), CPU\/request 1\.040 \(0\.900–1\.150\)/,
      );
    });

    it('takes the mean of the middle two per-pair ratios for an even count', () => {
      const c = collect(rounds);
      c.pairs.set(
        'standalone-pool',
        pairsOf([
          [8_000, 7_200, 300, 330],
          [8_000, 8_400, 300, 300],
          [8_000, 7_800, 300, 312],
          [8_000, 8_000, 300, 270],
        ]),
      );
      const r = report(c);
      expect(r.paired?.['standalone-pool']?.medianRpsRatio).toBe(0.988);
      expect(r.paired?.['standalone-pool']?.medianCpuRatio).toBe(1.02);
      expect(r.ratios?.standalonePoolOverStandalone).toBe(0.988);
    });

    it('falls back to the median rounds for a target without pairs', () => {
      const c = collect(rounds);
      c.pairs.set('standalone-accesskey', five);
      const r = report(c);
      expect(r.ratios?.standalonePoolOverStandalone).toBe(0.9);
      expect(r.ratios?.standaloneTranslatedCpuOverStandalone).toBe(1);
      expect(Object.keys(r.paired ?? {})).toEqual(['standalone-accesskey']);
      const text = renderReport(r);
      expect(text).toMatch(/\| key pacing and affinity on at most 5% slower .*\| +0\.900 \| +NO \|/);
      expect(text).toMatch(/\| CPU\/request: Anthropic caller translated .*\| +1\.000 \| +yes \|/);

      const none = report(collect(rounds));
      expect(none.paired).toBeNull();
      expect(none.ratios?.standaloneAccessKeyOverStandalone).toBe(0.75);
      expect(renderReport(none)).not.toMatch(/paired|Paired/);
    });

    it('lists the pairs but uses no ratio when the headroom rule refuses them', () => {
      const c = collect({ ...rounds, direct: [10_000] });
      c.pairs.set('standalone-accesskey', five);
      const r = report(c);
      expect(r.ratios).toBeNull();
      expect(r.paired?.['standalone-accesskey']?.medianRpsRatio).toBe(0.975);
      const text = renderReport(r);
      expect(text).toMatch(/\| access key with limits at most 5% slower .*\| +refused \(headroom\) \| +– \|/);
      expect(text).not.toMatch(/\(paired\)/);
      expect(text).toMatch(
        /order alternating; median of the per-pair ratios, min–max\), not used for the goals/,
      );
    });

    it('counts a failed request in a pair against its target', () => {
      const c = collect(rounds);
      const failed = pairsOf([[8_000, 7_200, 300, 330]]);
      c.pairs.set(
        'standalone-accesskey',
        failed.map((p) => ({ ...p, target: { ...p.target, non2xx: 3 } })),
      );
      const r = report(c);
      expect(r.checks.find((x) => x.name === 'standalone-accesskey: no failed requests under load')?.ok).toBe(
        false,
      );
      expect(r.checks.find((x) => x.name === 'standalone: no failed requests under load')?.ok).toBe(true);
    });
  });
});
