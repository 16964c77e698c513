/**
 * A tiny Prometheus registry (text exposition format 0.0.4).
 *
 * Label values are exported verbatim to whoever can scrape /metrics: callers pass bounded, non-secret
 * values only — group names, channels, status classes ("2xx"), failure classes — never keys, proxy keys,
 * URLs with query strings, client-supplied model names or other unbounded input.
 */
import type { SecretRegistry } from './secret-registry';

/** `Content-Type` of `render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Prometheus client libraries' default buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label values by label name; every declared label must be given. */
export type Labels<L extends string> = Readonly<Record<L, string | number>>;

export interface Counter<L extends string = never> {
  readonly name: string;
  inc(n?: number): void;
  inc(labels: Labels<L>, n?: number): void;
  /** A handle bound to one label set, for hot paths (skips the label lookup). */
  labels(labels: Labels<L>): { inc(n?: number): void };
  get(labels?: Labels<L>): number;
}

export interface Gauge<L extends string = never> {
  readonly name: string;
  set(value: number): void;
  set(labels: Labels<L>, value: number): void;
  inc(n?: number): void;
  inc(labels: Labels<L>, n?: number): void;
  dec(n?: number): void;
  dec(labels: Labels<L>, n?: number): void;
  labels(labels: Labels<L>): { set(value: number): void; inc(n?: number): void; dec(n?: number): void };
  get(labels?: Labels<L>): number;
}

export interface Histogram<L extends string = never> {
  readonly name: string;
  observe(value: number): void;
  observe(labels: Labels<L>, value: number): void;
  labels(labels: Labels<L>): { observe(value: number): void };
  /** Cumulative bucket counts (same order as the buckets, then +Inf), sum and count of one label set. */
  get(labels?: Labels<L>): { buckets: number[]; sum: number; count: number };
}

export interface Metrics {
  /** Registers (or returns the identical existing) counter. */
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /** Registers (or returns the identical existing) gauge. */
  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  /** Registers (or returns the identical existing) histogram; buckets are upper bounds, +Inf is implied. */
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: readonly number[],
  ): Histogram<L>;
  /** Runs `fn` at the start of every render (to sample process state and the like). */
  beforeRender(fn: () => void): void;
  /** The whole registry in Prometheus text format. */
  render(): string;
}

export interface MetricsOptions {
  /**
   * Label values found in this registry are exported as "[redacted]" — a last line of defence; it is
   * checked once per new label set, so it costs nothing on the hot path.
   */
  secrets?: SecretRegistry;
  /**
   * Distinct label sets kept per metric; further ones are folded into one series whose labels are all
   * "__overflow__", so that unbounded label values cannot grow memory without limit. Default 10,000.
   */
  maxSeriesPerMetric?: number;
}

type MetricType = 'counter' | 'gauge' | 'histogram';
type LabelsArg = Readonly<Record<string, string | number>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OVERFLOW = '__overflow__';

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface Series {
  /** `{a="x",b="y"}` (or ''), rendered once when the series is created. */
  readonly labelText: string;
  value: number;
  /** Histograms: per-bucket (not yet cumulative) counts, last one +Inf. */
  counts?: Float64Array;
}

class Family {
  readonly series = new Map<string, Series>();

  constructor(
    readonly type: MetricType,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
    private readonly options: { secrets?: SecretRegistry; maxSeries: number },
  ) {
    // An unlabelled metric exists from the start, so a scrape shows 0 rather than nothing.
    if (labelNames.length === 0) this.series.set('', this.create([]));
  }

  /** The map key of one label set. */
  key(labels: LabelsArg | undefined): string {
    const names = this.labelNames;
    if (names.length === 0) return '';
    if (names.length === 1) return String(labels?.[names[0] as string] ?? '');
    let key = '';
    for (let i = 0; i < names.length; i++)
      key += (i ? '\u0001' : '') + String(labels?.[names[i] as string] ?? '');
    return key;
  }

  /** The series of one label set, created on first use. */
  resolve(labels: LabelsArg | undefined): Series {
    const key = this.key(labels);
    return (
      this.series.get(key) ??
      this.add(
        key,
        this.labelNames.map((n) => String(labels?.[n] ?? '')),
      )
    );
  }

  /** The series of one label set, if it exists. */
  peek(labels: LabelsArg | undefined): Series | undefined {
    return this.series.get(this.key(labels));
  }

  private add(key: string, values: string[]): Series {
    if (this.series.size >= this.options.maxSeries) {
      const overflowKey = this.labelNames.map(() => OVERFLOW).join('\u0001');
      const overflow = this.series.get(overflowKey);
      if (overflow) return overflow;
      const s = this.create(this.labelNames.map(() => OVERFLOW));
      this.series.set(overflowKey, s);
      return s;
    }
    const secrets = this.options.secrets;
    // A secret anywhere in the value, in any form (a model name that quotes a key): checked once per label set.
    const safe = secrets ? values.map((v) => (secrets.maskText(v) !== v ? '[redacted]' : v)) : values;
    const s = this.create(safe);
    this.series.set(key, s);
    return s;
  }

  private create(values: readonly string[]): Series {
    const labelText =
      values.length === 0
        ? ''
        : `{${this.labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`;
    return this.type === 'histogram'
      ? { labelText, value: 0, counts: new Float64Array(this.buckets.length + 1) }
      : { labelText, value: 0 };
  }

  observe(s: Series, value: number): void {
    if (Number.isNaN(value)) return; // a NaN would poison _sum for good
    const counts = s.counts as Float64Array;
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
    s.value += value;
  }

  snapshot(s: Series | undefined): { buckets: number[]; sum: number; count: number } {
    const buckets: number[] = [];
    let acc = 0;
    for (const c of s?.counts ?? new Float64Array(this.buckets.length + 1)) buckets.push((acc += c));
    return { buckets, sum: s?.value ?? 0, count: acc };
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const s of this.series.values()) {
      if (this.type !== 'histogram') {
        out += `${this.name}${s.labelText} ${formatNumber(s.value)}\n`;
        continue;
      }
      // Buckets are exported cumulatively: le="x" counts every observation ≤ x.
      const inner = s.labelText === '' ? '' : s.labelText.slice(1, -1) + ',';
      const snap = this.snapshot(s);
      for (let i = 0; i < snap.buckets.length; i++) {
        const le = i < this.buckets.length ? formatNumber(this.buckets[i] as number) : '+Inf';
        out += `${this.name}_bucket{${inner}le="${le}"} ${formatNumber(snap.buckets[i] as number)}\n`;
      }
      out += `${this.name}_sum${s.labelText} ${formatNumber(snap.sum)}\n`;
      out += `${this.name}_count${s.labelText} ${formatNumber(snap.count)}\n`;
    }
    return out;
  }
}

/** Splits the `(labels?, n?)` / `(n?)` call forms. */
function args(
  a: LabelsArg | number | undefined,
  b: number | undefined,
  dflt: number,
): [LabelsArg | undefined, number] {
  return typeof a === 'number' ? [undefined, a] : [a, b ?? dflt];
}

function checkCounterIncrement(name: string, n: number): void {
  if (!(n >= 0) || !Number.isFinite(n))
    throw new RangeError(`counter ${name}: increment must be a finite number ≥ 0`);
}

/** Creates an empty metrics registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const families = new Map<string, Family>();
  const hooks: Array<() => void> = [];
  const familyOptions = {
    ...(options.secrets ? { secrets: options.secrets } : {}),
    maxSeries: options.maxSeriesPerMetric ?? 10_000,
  };

  function register(
    type: MetricType,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Family {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__'))
        throw new Error(`metric ${name}: invalid label name "${l}"`);
      if (type === 'histogram' && l === 'le')
        throw new Error(`metric ${name}: "le" is reserved for histogram buckets`);
    }
    if (new Set(labelNames).size !== labelNames.length)
      throw new Error(`metric ${name}: duplicate label name`);
    const existing = families.get(name);
    if (existing) {
      // Re-registering the same definition returns it: apps composed into one process may each register it.
      const same =
        existing.type === type &&
        existing.labelNames.join(',') === labelNames.join(',') &&
        existing.buckets.join(',') === buckets.join(',');
      if (!same) throw new Error(`metric ${name} is already registered with a different definition`);
      return existing;
    }
    const f = new Family(type, name, help, [...labelNames], buckets, familyOptions);
    families.set(name, f);
    return f;
  }

  return {
    counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
      const f = register('counter', name, help, labelNames, []);
      return {
        name,
        inc(a?: LabelsArg | number, b?: number) {
          const [labels, n] = args(a, b, 1);
          checkCounterIncrement(name, n);
          f.resolve(labels).value += n;
        },
        labels(labels) {
          const s = f.resolve(labels);
          return {
            inc(n = 1) {
              checkCounterIncrement(name, n);
              s.value += n;
            },
          };
        },
        get: (labels) => f.peek(labels)?.value ?? 0,
      };
    },

    gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
      const f = register('gauge', name, help, labelNames, []);
      return {
        name,
        set(a: LabelsArg | number, b?: number) {
          const [labels, v] = args(a, b, NaN);
          f.resolve(labels).value = v;
        },
        inc(a?: LabelsArg | number, b?: number) {
          const [labels, n] = args(a, b, 1);
          f.resolve(labels).value += n;
        },
        dec(a?: LabelsArg | number, b?: number) {
          const [labels, n] = args(a, b, 1);
          f.resolve(labels).value -= n;
        },
        labels(labels) {
          const s = f.resolve(labels);
          return {
            set: (v: number) => void (s.value = v),
            inc: (n = 1) => void (s.value += n),
            dec: (n = 1) => void (s.value -= n),
          };
        },
        get: (labels) => f.peek(labels)?.value ?? 0,
      };
    },

    histogram<L extends string = never>(
      name: string,
      help: string,
      labelNames: readonly L[] = [],
      buckets: readonly number[] = DEFAULT_BUCKETS,
    ): Histogram<L> {
      const sorted = [...new Set(buckets)].filter((b) => Number.isFinite(b)).sort((x, y) => x - y);
      if (sorted.length === 0) throw new Error(`histogram ${name}: needs at least one finite bucket`);
      const f = register('histogram', name, help, labelNames, sorted);
      return {
        name,
        observe(a: LabelsArg | number, b?: number) {
          const [labels, v] = args(a, b, NaN);
          f.observe(f.resolve(labels), v);
        },
        labels(labels) {
          const s = f.resolve(labels);
          return { observe: (v: number) => f.observe(s, v) };
        },
        get: (labels) => f.snapshot(f.peek(labels)),
      };
    },

    beforeRender(fn) {
      hooks.push(fn);
    },

    render() {
      for (const fn of hooks) fn();
      let out = '';
      for (const f of families.values()) out += f.render();
      return out;
    },
  };
}
