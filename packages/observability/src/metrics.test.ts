import { describe, expect, it } from 'vitest';
import { createMetrics, DEFAULT_BUCKETS } from './metrics';
import { defaultProcessMetrics } from './process-metrics';
import { SecretRegistry } from './secret-registry';

const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const VALUE = String.raw`(?:[+-]?Inf|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)`;
const SAMPLE = new RegExp(String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{${LABEL}(?:,${LABEL})*\})? (${VALUE})$`);
const HELP = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n])*$/;
const TYPE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict-enough parser of the text exposition format: throws on any line that does not conform. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      expect(line).toMatch(HELP);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = TYPE.exec(line);
      if (!m) throw new Error(`bad TYPE line: ${line}`);
      types.set(m[1] as string, m[2] as string);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    const raw = m[3] as string;
    const value = raw === '+Inf' || raw === 'Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1] as string, labels, value });
  }
  // Every sample belongs to a family with a TYPE line (histograms via their suffixes).
  for (const s of samples) {
    const family = types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(family), `no TYPE for ${s.name}`).toBe(true);
  }
  return { samples, types };
}

describe('createMetrics', () => {
  it('renders counters, gauges and histograms in valid exposition format', () => {
    const m = createMetrics();
    const requests = m.counter('keyway_requests_total', 'Proxied requests.', ['group', 'status_class']);
    const inflight = m.gauge('keyway_inflight_requests', 'Requests being proxied.');
    const latency = m.histogram(
      'keyway_request_duration_seconds',
      'Request latency.',
      ['group'],
      [0.1, 1, 10],
    );
    requests.inc({ group: 'openai', status_class: '2xx' });
    requests.inc({ group: 'openai', status_class: '2xx' }, 2);
    requests.inc({ group: 'gemini', status_class: '5xx' });
    inflight.set(3);
    inflight.dec();
    latency.observe({ group: 'openai' }, 0.05);
    latency.observe({ group: 'openai' }, 0.5);
    latency.observe({ group: 'openai' }, 30);

    const { samples, types } = parseExposition(m.render());
    expect(types).toEqual(
      new Map([
        ['keyway_requests_total', 'counter'],
        ['keyway_inflight_requests', 'gauge'],
        ['keyway_request_duration_seconds', 'histogram'],
      ]),
    );
    const find = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(find('keyway_requests_total', { group: 'openai', status_class: '2xx' })).toBe(3);
    expect(find('keyway_requests_total', { group: 'gemini', status_class: '5xx' })).toBe(1);
    expect(find('keyway_inflight_requests', {})).toBe(2);
    expect(find('keyway_request_duration_seconds_bucket', { group: 'openai', le: '0.1' })).toBe(1);
    expect(find('keyway_request_duration_seconds_bucket', { group: 'openai', le: '1' })).toBe(2);
    expect(find('keyway_request_duration_seconds_bucket', { group: 'openai', le: '10' })).toBe(2);
    expect(find('keyway_request_duration_seconds_bucket', { group: 'openai', le: '+Inf' })).toBe(3);
    expect(find('keyway_request_duration_seconds_sum', { group: 'openai' })).toBeCloseTo(30.55);
    expect(find('keyway_request_duration_seconds_count', { group: 'openai' })).toBe(3);
  });

  it('exports histogram buckets cumulatively, ending with +Inf equal to the count', () => {
    const m = createMetrics();
    const h = m.histogram('latency_seconds', 'Latency.');
    const values = [0.001, 0.004, 0.02, 0.02, 0.3, 0.7, 2, 4, 9, 11, 100];
    for (const v of values) h.observe(v);
    const { samples } = parseExposition(m.render());
    const buckets = samples.filter((s) => s.name === 'latency_seconds_bucket');
    expect(buckets.map((b) => b.labels['le'])).toEqual([...DEFAULT_BUCKETS.map(String), '+Inf']);
    for (const [i, b] of buckets.entries()) {
      const le = i < DEFAULT_BUCKETS.length ? (DEFAULT_BUCKETS[i] as number) : Infinity;
      expect(b.value).toBe(values.filter((v) => v <= le).length);
      if (i > 0) expect(b.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value ?? 0);
    }
    expect(h.get()).toEqual({
      buckets: buckets.map((b) => b.value),
      sum: values.reduce((a, b) => a + b, 0),
      count: values.length,
    });
  });

  it('counts an observation equal to a bucket bound in that bucket', () => {
    const h = createMetrics().histogram('h', 'h', [], [1, 2]);
    h.observe(1);
    h.observe(2);
    expect(h.get().buckets).toEqual([1, 2, 2]);
  });

  it('escapes backslashes, quotes and newlines in label values and help text', () => {
    const m = createMetrics();
    m.counter('escaped_total', 'Help with \\ backslash\nand newline.', ['v']).inc({
      v: 'a "quoted" \\ value\nnext',
    });
    const text = m.render();
    expect(text).toContain('# HELP escaped_total Help with \\\\ backslash\\nand newline.\n');
    expect(text).toContain('escaped_total{v="a \\"quoted\\" \\\\ value\\nnext"} 1\n');
    const { samples } = parseExposition(text);
    expect(samples[0]?.labels['v']).toBe('a "quoted" \\ value\nnext');
  });

  it('shows unlabelled metrics as 0 before their first update, labelled ones only once used', () => {
    const m = createMetrics();
    m.counter('plain_total', 'Plain.');
    m.counter('labelled_total', 'Labelled.', ['group']);
    m.histogram('plain_seconds', 'Plain histogram.', [], [1]);
    const text = m.render();
    expect(text).toContain('plain_total 0\n');
    expect(text).not.toMatch(/^labelled_total/m);
    expect(text).toContain('plain_seconds_bucket{le="+Inf"} 0\n');
    parseExposition(text);
  });

  it('supports bound label handles and reads values back', () => {
    const m = createMetrics();
    const c = m.counter('bound_total', 'Bound.', ['group']);
    const g = m.gauge('bound_gauge', 'Bound gauge.', ['group']);
    const openai = c.labels({ group: 'openai' });
    openai.inc();
    openai.inc(4);
    const gauge = g.labels({ group: 'openai' });
    gauge.set(10);
    gauge.inc(2);
    gauge.dec(5);
    expect(c.get({ group: 'openai' })).toBe(5);
    expect(g.get({ group: 'openai' })).toBe(7);
    expect(c.get({ group: 'never-used' })).toBe(0);
    expect(m.render()).not.toContain('never-used');
  });

  it('rejects a negative or non-finite counter increment', () => {
    const c = createMetrics().counter('mono_total', 'Monotonic.');
    expect(() => c.inc(-1)).toThrow(RangeError);
    expect(() => c.inc(Number.NaN)).toThrow(RangeError);
    expect(() => c.labels({}).inc(Infinity)).toThrow(RangeError);
    expect(c.get()).toBe(0);
  });

  it('ignores NaN observations instead of poisoning the sum', () => {
    const h = createMetrics().histogram('nan_seconds', 'NaN.', [], [1]);
    h.observe(Number.NaN);
    h.observe(0.5);
    expect(h.get()).toEqual({ buckets: [1, 1], sum: 0.5, count: 1 });
  });

  it('returns the existing metric for an identical registration and refuses a conflicting one', () => {
    const m = createMetrics();
    const a = m.counter('dup_total', 'Dup.', ['group']);
    a.inc({ group: 'x' });
    expect(m.counter('dup_total', 'Dup.', ['group']).get({ group: 'x' })).toBe(1);
    expect(() => m.gauge('dup_total', 'Dup.', ['group'])).toThrow(/different definition/);
    expect(() => m.counter('dup_total', 'Dup.', ['other'])).toThrow(/different definition/);
  });

  it('refuses invalid metric and label names', () => {
    const m = createMetrics();
    expect(() => m.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => m.counter('ok_total', 'x', ['bad-label'])).toThrow(/invalid label name/);
    expect(() => m.counter('ok2_total', 'x', ['__reserved'])).toThrow(/invalid label name/);
    expect(() => m.histogram('h_seconds', 'x', ['le'])).toThrow(/reserved/);
    expect(() => m.counter('ok3_total', 'x', ['a', 'a'])).toThrow(/duplicate/);
  });

  it('exports a registered secret used as a label value as "[redacted]"', () => {
    const secrets = new SecretRegistry(['sk-live-abcdef1234567890']);
    const m = createMetrics({ secrets });
    m.counter('leaky_total', 'Leaky.', ['group']).inc({ group: 'sk-live-abcdef1234567890' });
    const text = m.render();
    expect(text).not.toContain('sk-live-abcdef1234567890');
    expect(text).toContain('leaky_total{group="[redacted]"} 1');
  });

  it('exports a label value that contains a secret or a key-shaped string as "[redacted]"', () => {
    const secrets = new SecretRegistry(['team-proxy-key-0123456789']);
    const m = createMetrics({ secrets });
    const c = m.counter('models_seen_total', 'Models.', ['model']);
    c.inc({ model: 'gpt-4 team-proxy-key-0123456789' });
    c.inc({ model: 'sk-proj-abcdefghijklmnopqrstuvwxyz' });
    c.inc({ model: 'gpt-4.1-nano' });
    const text = m.render();
    expect(text).not.toContain('team-proxy-key-0123456789');
    expect(text).not.toContain('sk-proj-abcdefghijklmnopqrstuvwxyz');
    expect(text).toContain('models_seen_total{model="gpt-4.1-nano"} 1');
  });

  it('folds label sets beyond the per-metric limit into one overflow series', () => {
    const m = createMetrics({ maxSeriesPerMetric: 3 });
    const c = m.counter('models_total', 'Models.', ['model']);
    for (let i = 0; i < 10; i++) c.inc({ model: `m${i}` });
    const { samples } = parseExposition(m.render());
    expect(samples).toHaveLength(4);
    expect(samples.find((s) => s.labels['model'] === '__overflow__')?.value).toBe(7);
  });

  it('runs beforeRender hooks on every render', () => {
    const m = createMetrics();
    const g = m.gauge('sampled', 'Sampled at render.');
    let n = 0;
    m.beforeRender(() => g.set(++n));
    expect(m.render()).toContain('sampled 1\n');
    expect(m.render()).toContain('sampled 2\n');
  });
});

describe('defaultProcessMetrics', () => {
  it('samples memory, CPU time and event-loop lag at render time', async () => {
    const m = createMetrics();
    const handle = defaultProcessMetrics(m, { resolutionMs: 5 });
    try {
      await new Promise((r) => setTimeout(r, 30));
      const first = parseExposition(m.render());
      const value = (name: string, p: { samples: Sample[] }) => p.samples.find((s) => s.name === name)?.value;
      expect(first.types.get('process_cpu_seconds_total')).toBe('counter');
      expect(value('process_resident_memory_bytes', first)).toBeGreaterThan(1024 * 1024);
      expect(value('process_cpu_seconds_total', first)).toBeGreaterThan(0);
      expect(value('process_start_time_seconds', first)).toBeLessThanOrEqual(Date.now() / 1000);
      expect(value('nodejs_eventloop_lag_seconds', first)).toBeGreaterThanOrEqual(0);

      // Block the loop for ~60 ms: the next scrape must show it. (Wait one sampling period first: the
      // histogram's first interval after a reset is not measured.)
      await new Promise((r) => setTimeout(r, 15));
      const until = Date.now() + 60;
      while (Date.now() < until);
      await new Promise((r) => setTimeout(r, 20));
      const second = parseExposition(m.render());
      expect(value('nodejs_eventloop_lag_max_seconds', second)).toBeGreaterThan(0.03);
      expect(value('process_cpu_seconds_total', second)).toBeGreaterThanOrEqual(
        (value('process_cpu_seconds_total', first) ?? 0) + 0.01,
      );
    } finally {
      handle.stop();
    }
  });

  it('registers once per registry, so CPU time is not counted twice', () => {
    const m = createMetrics();
    const a = defaultProcessMetrics(m);
    const b = defaultProcessMetrics(m);
    expect(b).toBe(a);
    a.stop();
  });
});
