// The load generator, in a process of its own: autocannon against one URL, printing its summary as JSON.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';

const config = JSON.parse(process.argv[2]);
// For floods, every request presents a different (unknown) secret, drawn from a pool made in advance.
const pool = config.randomSecrets ? Array.from({ length: 10_000 }, () => randomBytes(32).toString('base64')) : null;
let next = 0;

const result = await autocannon({
  url: config.url,
  connections: config.connections ?? 32,
  duration: config.duration ?? 8,
  headers: config.headers ?? {},
  method: config.method ?? 'GET',
  ...(config.body !== undefined && { body: config.body }),
  requests: pool
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
process.stdout.write(
  JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    statuses: { '2xx': result['2xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
