// Creates the package's metrics (definitions.ts) on the host's prom-client and serves them: counters fed by the endpoint, gauges read at scrape time.
import type { RequestHandler } from 'express';
import type { MetricsConfig } from '../domain/config';
import { OptionsError } from '../errors';
import { CALL_DURATION_BUCKETS, METRICS, type MetricDefinition } from './definitions';
import { AUTH_FAILURE_REASONS, endpointMetrics, type EndpointMetrics } from './endpoint-metrics';
import type {
  CounterLike,
  GaugeLike,
  HistogramLike,
  MetricConfigurationLike,
  RegistryLike,
} from '../domain/prom-client-like';

/** The part of an endpoint's concurrency limiter the gauges read. */
export interface WatchedLimiter {
  readonly active: number;
  readonly queued: number;
}

/** What the scrape-time gauges read: live state of this instance, never a copy. */
export interface MetricSources {
  /** bcrypt operations waiting for a slot in the pool. */
  bcryptQueued(): number;
  /** Seconds since the newest moment up to which every change in the shared log is applied here; Infinity before the first load. */
  revisionLagSeconds(): number;
  /** Whether the endpoint serves (true) or answers 503, code 7 (false). */
  ready(): boolean;
}

/** The metrics of one createUserDefinedApis object. */
export interface PluginMetrics {
  /** What the endpoint handlers record into. */
  readonly endpoint: EndpointMetrics;
  /** Counts a new endpoint handler's queue and running actions in the gauges, for as long as the handler lives. */
  watchLimiter(limiter: WatchedLimiter): void;
  /** Serves the registry's text exposition. */
  handler(): RequestHandler;
}

export function createPluginMetrics(config: MetricsConfig, sources: MetricSources): PluginMetrics {
  const { promClient, prefix } = config;
  const registry = config.registry ?? new promClient.Registry();
  // Weak: a host that builds many endpoint handlers (tests do) must not keep them alive through the metrics.
  const limiters = new Set<WeakRef<WatchedLimiter>>();
  const sumOverLimiters = (read: (limiter: WatchedLimiter) => number): number => {
    let sum = 0;
    for (const ref of limiters) {
      const limiter = ref.deref();
      if (limiter) sum += read(limiter);
      else limiters.delete(ref);
    }
    return sum;
  };

  const register = <Metric extends CounterLike | GaugeLike | HistogramLike>(
    metric: Metric,
    definition: MetricDefinition,
  ): Metric => {
    try {
      registry.registerMetric(metric);
    } catch (error) {
      throw new OptionsError(
        `\`metrics.registry\` already holds a metric named ${prefix}${definition.name} (${error instanceof Error ? error.message : String(error)}); ` +
          'give each createUserDefinedApis object of a process its own `metrics.prefix` or its own registry.',
      );
    }
    return metric;
  };
  const configuration = (definition: MetricDefinition): MetricConfigurationLike => ({
    name: prefix + definition.name,
    help: definition.help,
    labelNames: definition.labels,
    registers: [],
  });
  const counter = (definition: MetricDefinition): CounterLike =>
    register(new promClient.Counter(configuration(definition)), definition);
  const gauge = (definition: MetricDefinition, collect: (gauge: GaugeLike) => void): GaugeLike => {
    // The closure runs at scrape time only, when `created` is long assigned.
    const created: GaugeLike = new promClient.Gauge({ ...configuration(definition), collect: () => collect(created) });
    return register(created, definition);
  };

  const calls = counter(METRICS.calls);
  const duration = register(
    new promClient.Histogram({ ...configuration(METRICS.callDuration), buckets: [...CALL_DURATION_BUCKETS] }),
    METRICS.callDuration,
  );
  const authFailures = counter(METRICS.authFailures);
  for (const reason of AUTH_FAILURE_REASONS) authFailures.inc({ reason }, 0);
  const rateLimitRejections = counter(METRICS.rateLimitRejections);
  rateLimitRejections.inc(0);

  gauge(METRICS.queueDepth, (depth) => {
    depth.set(
      { queue: 'actions' },
      sumOverLimiters((limiter) => limiter.queued),
    );
    depth.set({ queue: 'bcrypt' }, sources.bcryptQueued());
  });
  gauge(METRICS.actionsInFlight, (running) => running.set(sumOverLimiters((limiter) => limiter.active)));
  gauge(METRICS.revisionLag, (lag) => lag.set(sources.revisionLagSeconds()));
  gauge(METRICS.ready, (ready) => ready.set(sources.ready() ? 1 : 0));

  return {
    endpoint: endpointMetrics({ calls, duration, authFailures, rateLimitRejections }),
    watchLimiter: (limiter) => {
      limiters.add(new WeakRef(limiter));
    },
    handler: () => metricsHandler(registry),
  };
}

/** GET (and HEAD) answers the registry's text exposition; other methods 405. */
function metricsHandler(registry: RegistryLike): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).setHeader('Allow', 'GET, HEAD').end();
      return;
    }
    registry.metrics().then((text) => {
      res.status(200);
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.end(text);
    }, next);
  };
}
