// Every parser of untrusted input (headers, path, query, body type) costs time linear in its input: each hostile
// request at Node's header-size limit blocks the event loop for at most a few milliseconds, endpoint and admin API.
import http from 'node:http';
import { ADMIN, openTestHost, type TestHost } from './helpers/app';
import { listenOnLoopback } from './helpers/raw-http';

/** Node refuses a request line plus headers over 16 KiB (431); each hostile part stays just under it. */
const NEAR_LIMIT = 15_500;
/**
 * The most one request may hold the event loop. The parsers that failed here took 60-220 ms per request; a linear
 * one takes well under 1 ms. What is measured is the CPU time of the request's synchronous handling (the time it
 * holds the event loop), not wall-clock delay, so a busy machine that deschedules the process does not count.
 */
const MAX_BLOCKING_MS = 10;

let host: TestHost;
let server: Awaited<ReturnType<typeof listenOnLoopback>>;
let port: number;
/** CPU milliseconds of each request's synchronous handling, by the test's label. */
let lastCpuMs = 0;

beforeAll(async () => {
  // No failed-auth throttle: every hostile request goes the whole way through authentication, not to an early 429.
  host = await openTestHost({ failedAuthThrottle: false });
  server = await listenOnLoopback((req, res) => {
    const started = process.cpuUsage();
    host.app(req, res);
    const used = process.cpuUsage(started);
    lastCpuMs = (used.user + used.system) / 1000;
  });
  ({ port } = server);
});

afterAll(async () => {
  await server.close();
  await host.close();
});

interface Hostile {
  label: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
}

/** Sends one request over a fresh connection, exactly as given; resolves with its status and the CPU it took. */
function send({ method = 'GET', path, headers = {} }: Hostile): Promise<{ status: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cpuMs: lastCpuMs }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (value: string): Record<string, string> => ({ Authorization: value });
const endpointCases: Hostile[] = [
  {
    label: 'Authorization: Bearer, spaces, two words',
    path: '/api/custom/x',
    headers: bearer(`Bearer${' '.repeat(NEAR_LIMIT)}a b`),
  },
  {
    label: 'Authorization: Bearer, spaces, nothing',
    path: '/api/custom/x',
    headers: bearer(`Bearer${' '.repeat(NEAR_LIMIT)}`),
  },
  { label: 'Authorization: a long secret', path: '/api/custom/x', headers: bearer(`Bearer ${'a'.repeat(NEAR_LIMIT)}`) },
  {
    label: 'Authorization: tabs and spaces',
    path: '/api/custom/x',
    headers: bearer(`Bearer \t${' \t'.repeat(NEAR_LIMIT / 2)}x`),
  },
  {
    label: 'Authorization: another scheme',
    path: '/api/custom/x',
    headers: bearer(`Basic ${'Bearer '.repeat(NEAR_LIMIT / 7)}`),
  },
  { label: 'path: /% repeated', path: `/api/custom${'/%'.repeat(NEAR_LIMIT / 2)}` },
  { label: 'path: /%C0 repeated (bytes that are not UTF-8)', path: `/api/custom${'/%C0'.repeat(NEAR_LIMIT / 4)}` },
  { label: 'path: %E2%82%AC in one segment', path: `/api/custom/${'%E2%82%AC'.repeat(NEAR_LIMIT / 9)}` },
  { label: 'path: many segments', path: `/api/custom${'/a'.repeat(NEAR_LIMIT / 2)}` },
  { label: 'path: repeated slashes', path: `/api/custom${'/'.repeat(NEAR_LIMIT)}x` },
  { label: 'path: dot segments', path: `/api/custom${'/..'.repeat(NEAR_LIMIT / 3)}` },
  { label: 'query: broken escapes', path: `/api/custom/x?${'a=%zz&'.repeat(NEAR_LIMIT / 6)}` },
  { label: 'query: brackets', path: `/api/custom/x?${'a[b][c]=1&'.repeat(NEAR_LIMIT / 10)}` },
  {
    label: 'Content-Type: parameters',
    method: 'POST',
    path: '/api/custom/x',
    headers: { 'Content-Type': `text/plain${';a=b'.repeat(NEAR_LIMIT / 4)}`, 'Content-Length': '0' },
  },
  {
    label: 'Content-Type: spaces',
    method: 'POST',
    path: '/api/custom/x',
    headers: { 'Content-Type': `application/json;${' '.repeat(NEAR_LIMIT)}x`, 'Content-Length': '0' },
  },
  {
    label: 'Content-Encoding: spaces',
    method: 'POST',
    path: '/api/custom/x',
    headers: {
      'Content-Type': 'text/plain',
      'Content-Encoding': `${' '.repeat(NEAR_LIMIT)}gzip`,
      'Content-Length': '0',
    },
  },
  {
    label: 'Content-Length: digits',
    method: 'POST',
    path: '/api/custom/x',
    headers: { 'Content-Type': 'text/plain', 'Content-Length': `${'0'.repeat(NEAR_LIMIT)}1` },
  },
];
const adminCases: Hostile[] = [
  { label: 'admin path: /% repeated', path: `/admin/udapi/tokens${'/%'.repeat(NEAR_LIMIT / 2)}`, headers: ADMIN },
  {
    label: 'admin path: broken escape in an id',
    path: `/admin/udapi/tokens/${'%zz'.repeat(NEAR_LIMIT / 3)}`,
    headers: ADMIN,
  },
  {
    label: 'admin query: broken escapes',
    path: `/admin/udapi/tokens?${'name=%zz&'.repeat(NEAR_LIMIT / 9)}`,
    headers: ADMIN,
  },
  {
    label: 'admin query: brackets',
    path: `/admin/udapi/tokens?${'name[$ne][a][b]=1&'.repeat(NEAR_LIMIT / 18)}`,
    headers: ADMIN,
  },
  {
    label: 'admin Origin',
    method: 'POST',
    path: '/admin/udapi/tokens',
    headers: {
      ...ADMIN,
      Origin: `http://${'a.'.repeat(NEAR_LIMIT / 2)}x`,
      'Content-Type': 'application/json',
      'Content-Length': '0',
    },
  },
  {
    label: 'admin Host',
    method: 'POST',
    path: '/admin/udapi/tokens',
    headers: {
      ...ADMIN,
      Host: `${'a'.repeat(NEAR_LIMIT)}:1`,
      'Sec-Fetch-Site': 'same-origin',
      'Content-Type': 'application/json',
      'Content-Length': '0',
    },
  },
  {
    label: 'admin Content-Type',
    method: 'POST',
    path: '/admin/udapi/tokens',
    headers: { ...ADMIN, 'Content-Type': `application/json${'; a=b'.repeat(NEAR_LIMIT / 6)}`, 'Content-Length': '0' },
  },
  {
    label: 'admin user header',
    path: '/admin/udapi/tokens',
    headers: { 'x-test-user': ' '.repeat(NEAR_LIMIT), 'x-test-permissions': ',*'.repeat(NEAR_LIMIT / 4) },
  },
];

describe('hostile input at the header-size limit', () => {
  it.each([...endpointCases, ...adminCases].map((hostile) => [hostile.label, hostile] as const))(
    '%s: answered without blocking the event loop',
    async (_label, hostile) => {
      // The smallest of five, 50 ms apart: process.cpuUsage() counts every thread of the process, so a garbage
      // collection's helper threads or the thread pool busy meanwhile are not the parser's cost. In one CI run five
      // cases in a row read 8-18 ms (smallest of three, back to back) that read under 1.5 ms alone, with coverage too.
      const costs: number[] = [];
      let status = 0;
      for (let i = 0; i < 5; i += 1) {
        const answer = await send(hostile);
        status = answer.status;
        costs.push(answer.cpuMs);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const cpuMs = Math.min(...costs);
      console.log(
        `${hostile.label}: ${status}, event loop held ${cpuMs.toFixed(2)} ms (CPU time of the request's synchronous handling)`,
      );
      // Node itself refuses what is over its limit (431) before any of this code runs; these must reach the app.
      expect(status).not.toBe(431);
      expect(status).toBeLessThan(500);
      expect(cpuMs).toBeLessThan(MAX_BLOCKING_MS);
    },
  );

  it('measures what it claims: a handler that spends 30 ms of CPU is caught', async () => {
    host.app.get('/spin', (_req, res) => {
      const started = process.cpuUsage();
      const spent = (): number => {
        const used = process.cpuUsage(started);
        return (used.user + used.system) / 1000;
      };
      while (spent() < 30);
      res.end('done');
    });
    const { cpuMs } = await send({ label: 'spin', path: '/spin' });
    expect(cpuMs).toBeGreaterThan(MAX_BLOCKING_MS);
  });
});
