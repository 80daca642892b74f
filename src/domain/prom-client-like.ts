// The parts of prom-client the package uses, as structural types: the public types never need prom-client's own.

/** Label values of one observation: label name to value. */
export type MetricLabelsLike = Partial<Record<string, string | number>>;

/** What the package passes to a metric constructor. It never registers through `registers`: it registers itself. */
export interface MetricConfigurationLike {
  /** The metric's full name, prefix included. */
  name: string;
  /** The metric's description, shown by a scrape as `# HELP`. */
  help: string;
  /** The label names its observations carry. */
  labelNames?: readonly string[];
  /** Always empty: the metric is registered on the chosen registry with `registerMetric`, never on the global one. */
  registers: [];
  /** Called at scrape time, before the metric is read; a closure, so no `this` is needed. */
  collect?: () => void;
}

/** The histogram's configuration: also its bucket upper bounds, in seconds. */
export interface HistogramConfigurationLike extends MetricConfigurationLike {
  /** Upper bounds of the buckets, in seconds, ascending. */
  buckets?: number[];
}

/** A prom-client `Counter`, as far as the package uses it. */
export interface CounterLike {
  /** Adds `value` (default 1), for these label values or without labels. */
  inc(labels: MetricLabelsLike, value?: number): void;
  inc(value?: number): void;
}

/** A prom-client `Gauge`, as far as the package uses it. */
export interface GaugeLike {
  /** Sets the current value, for these label values or without labels. */
  set(labels: MetricLabelsLike, value: number): void;
  set(value: number): void;
}

/** A prom-client `Histogram`, as far as the package uses it. */
export interface HistogramLike {
  /** Records one observation, for these label values or without labels. */
  observe(labels: MetricLabelsLike, value: number): void;
  observe(value: number): void;
}

/** A prom-client `Registry`: what a scrape reads, and where the package registers its metrics. */
export interface RegistryLike {
  /** The text exposition of every metric registered here. */
  metrics(): Promise<string>;
  /** The Content-Type of that text (Prometheus text format, or OpenMetrics if the host chose it). */
  readonly contentType: string;
  /** Throws when a metric of the same name is registered already. */
  registerMetric(metric: CounterLike | GaugeLike | HistogramLike): void;
}

/**
 * The prom-client module (`require('prom-client')` or `import * as promClient from 'prom-client'`), as far as the
 * package uses it. The host passes it in, so the package never loads prom-client itself and works without it.
 */
export interface PromClientLike {
  /** Makes the package's own registry when the `registry` option is not given. */
  Registry: new () => RegistryLike;
  /** Makes the package's counters. */
  Counter: new (configuration: MetricConfigurationLike) => CounterLike;
  /** Makes the package's gauges. */
  Gauge: new (configuration: MetricConfigurationLike) => GaugeLike;
  /** Makes the package's histograms (durations). */
  Histogram: new (configuration: HistogramConfigurationLike) => HistogramLike;
}
