// `npm run soak` for one minute, as a real process: only expected answers, heap and RSS within the stated bounds.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);

interface SoakResult {
  ok: boolean;
  problems: string[];
  requests: number;
  unexpected: string[];
  counts: Record<string, number>;
  maxHeapGrowthMiB: number;
  maxRssMiB: number;
  bounds: { heapGrowthMiB: number; rssMiB: number };
}

/**
 * On a real MongoDB (MONGODB_URI set for the run) the soak uses it. On the suite's embedded FerretDB it starts one of
 * its own: FerretDB's ping and every query wait on a lock that any collection or index creation, or a database's
 * drop, holds on the whole server (internal/backends/sqlite/metadata/registry.go), and the other jest worker creates
 * and drops databases all the time. A poll stuck behind that lock for over a second once left the soak's view
 * older than maxViewLagMs, and the lag rule rightly answered 503 (10 calls in 30 ms, code 7, in a CI run).
 */
function soakEnvironment(): NodeJS.ProcessEnv {
  if (process.env.UDAPI_TESTDB_OWNED !== '1') return process.env;
  const own = { ...process.env };
  delete own.MONGODB_URI;
  return own;
}

it(
  `soaks ${SECONDS} s of mixed admin and endpoint traffic with only expected answers and bounded memory`,
  async () => {
    if (!existsSync(path.join(root, 'dist', 'index.mjs'))) {
      expect(spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' }).status).toBe(
        0,
      );
    }
    const child = spawn(process.execPath, [path.join(root, 'bench', 'soak.mjs'), '--seconds', String(SECONDS)], {
      env: soakEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = /^SOAK_RESULT (.*)$/m.exec(output);
    expect({ hasResult: Boolean(line), output: line ? '' : output }).toEqual({ hasResult: true, output: '' });
    const result = JSON.parse(line![1]!) as SoakResult;
    // The problems first: a failed soak says what went wrong (with the server's warnings and errors), not only its
    // exit code.
    const serverLog = output.split('\n').filter((line) => /^\{"level":"(warn|error)"/.test(line));
    expect({ problems: result.problems, code, serverLog: result.problems.length > 0 ? serverLog : [] }).toEqual({
      problems: [],
      code: 0,
      serverLog: [],
    });
    console.log(`soak: ${output.trim().split('\n').at(-1)}`);
    expect(result.problems).toEqual([]);
    expect(result.unexpected).toEqual([]);
    expect(result.ok).toBe(true);
    // Every kind of traffic ran, and the figures stayed inside the bounds docs/testing.md states.
    for (const [kind, count] of Object.entries(result.counts))
      expect({ kind, ran: count > 0 }).toEqual({ kind, ran: true });
    expect(result.requests).toBeGreaterThan(SECONDS * 50);
    expect(result.maxHeapGrowthMiB).toBeLessThanOrEqual(result.bounds.heapGrowthMiB);
    expect(result.maxRssMiB).toBeLessThanOrEqual(result.bounds.rssMiB);
  },
  (SECONDS + 90) * 1000,
);
