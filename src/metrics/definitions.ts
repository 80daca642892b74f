// The package's metrics: names (without the prefix), types, labels and help texts; docs/operations.md's table is generated from them.

/** One metric as the registry shows it. */
export interface MetricDefinition {
  /** The name after the prefix (`udapi_` by default). */
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  /** The HELP line of the exposition, and the description in docs/operations.md. */
  readonly help: string;
}

/**
 * Latency buckets in seconds: from half a millisecond (an in-memory call costs microseconds plus the action) to
 * 10 s (slow actions; anything slower lands in +Inf, and the timeout answers at actionTimeoutMs anyway).
 */
export const CALL_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const METRICS = {
  calls: {
    name: 'calls_total',
    type: 'counter',
    labels: ['definition', 'status'],
    help: 'Endpoint calls by the matched definition\'s id ("" when the call ended before a definition matched: request checks, authentication, rate limit, 404) and the HTTP status sent (499: the client went away first).',
  },
  callDuration: {
    name: 'call_duration_seconds',
    type: 'histogram',
    labels: ['definition'],
    help: `Endpoint call latency in seconds, every outcome, from the request reaching the endpoint to the response handed to Node, by definition id; buckets ${CALL_DURATION_BUCKETS.join(', ')} s.`,
  },
  authFailures: {
    name: 'auth_failures_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Refused authentications at the endpoint by internal cause (header_invalid, throttled, unknown_secret, disabled, expired, not_allowed, wrong_secret); consumers see the one 401 (code 1010) for all but header_invalid (401, code 1008) and throttled (429, code 2003). Every reason starts at 0.',
  },
  rateLimitRejections: {
    name: 'rate_limit_rejections_total',
    type: 'counter',
    labels: [],
    help: "Endpoint calls refused by a token's rate limit (429, code 1014).",
  },
  queueDepth: {
    name: 'queue_depth',
    type: 'gauge',
    labels: ['queue'],
    help: 'Work waiting for a slot at scrape time: queue="actions" (endpoint actions under maxConcurrentActions, summed over every endpoint() handler), queue="bcrypt" (secret hashes and checks under bcryptConcurrency).',
  },
  actionsInFlight: {
    name: 'actions_in_flight',
    type: 'gauge',
    labels: [],
    help: 'Endpoint actions holding a concurrency slot at scrape time, summed over every endpoint() handler (an action abandoned at its timeout no longer holds one).',
  },
  revisionLag: {
    name: 'revision_lag_seconds',
    type: 'gauge',
    labels: [],
    help: "Upper bound on how far this instance's in-memory view is behind the shared change log: seconds since the start of its newest successful poll or full reload, every change logged before then being applied. About changePollIntervalMs when all is well; grows while polls fail; +Inf before the first load.",
  },
  ready: {
    name: 'ready',
    type: 'gauge',
    labels: [],
    help: '1 while the endpoint serves; 0 while it answers 503, code 7 (database unreachable, view not loaded, marked stale after a failed refresh, or behind the change log by more than maxViewLagMs).',
  },
} as const satisfies Record<string, MetricDefinition>;

/** Every metric, in the order docs/operations.md lists them. */
export const METRIC_DEFINITIONS: readonly MetricDefinition[] = Object.values(METRICS);
