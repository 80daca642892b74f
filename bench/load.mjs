// The load generator, in a process of its own: autocannon runs against one URL each, printing summaries as JSON.
// With a config argument: one run, then exit. Without: one run per JSON line on stdin (a config, or an array of
// configs run at once), one JSON line out for each, so that the generator is warm for every run of the bench.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

// For floods, every request presents a different (unknown) secret, drawn from a pool made once.
let pool = null;
let next = 0;

async function run(config) {
  if (config.randomSecrets) pool ??= Array.from({ length: 10_000 }, () => randomBytes(32).toString('base64'));
  const duration = config.duration ?? 8;
  const result = await autocannon({
    url: config.url,
    connections: config.connections ?? 32,
    duration,
    // autocannon checks for the end of a run once per sample: 100 ms, so that a run of 0.5 s is not one of 1 s.
    sampleInt: 100,
    headers: config.headers ?? {},
    method: config.method ?? 'GET',
    ...(config.body !== undefined && { body: config.body }),
    requests: config.randomSecrets
      ? [
          {
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, authorization: `Bearer ${pool[(next += 1) % pool.length]}` },
            }),
          },
        ]
      : undefined,
  });
  return {
    // Per second of the run as timed (requests.average would be per sample, and the last sample can be short).
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    statuses: { '2xx': result['2xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

if (process.argv[2]) {
  process.stdout.write(JSON.stringify(await run(JSON.parse(process.argv[2]))));
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const config = JSON.parse(line);
    const result = Array.isArray(config) ? await Promise.all(config.map(run)) : await run(config);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
