// The README's reference tables are the code's: regenerating them changes nothing, and a stale table is caught.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, ErrorReasons } from '../src/errors';
import { ADMIN_OPERATIONS } from '../src/http/reference-routes';
import { ensureBuilt } from './helpers/instances';

const ROOT = path.join(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'reference.mjs');

beforeAll(() => {
  ensureBuilt();
});

function runCheck(readme: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, '--check', '--readme', readme], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

describe('README reference (npm run reference)', () => {
  it('matches the code: every generated section is up to date', () => {
    const { status, stderr } = runCheck(path.join(ROOT, 'README.md'));
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('lists every admin operation, error reason and endpoint code of the catalogues', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const operation of ADMIN_OPERATIONS) expect(readme).toContain(`\`${operation.method.toUpperCase()} ${operation.path}\``);
    for (const reason of Object.keys(ErrorReasons)) expect(readme).toContain(`| \`${reason}\` | ${ErrorReasons[reason as keyof typeof ErrorReasons].status} |`);
    for (const [name, { code, status }] of Object.entries(ErrorCodes)) expect(readme).toContain(`| ${code} | ${name} | ${status} |`);
  });

  it('catches a stale table and names it, and rewrites it without --check', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'udapi-readme-'));
    try {
      const copy = path.join(dir, 'README.md');
      const original = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const stale = original.replace(/\| `IdInUse` \| 409 \|[^\n]*/, '| `IdInUse` | 409 | an outdated description |');
      expect(stale).not.toBe(original);
      writeFileSync(copy, stale);
      const { status, stderr } = runCheck(copy);
      expect(status).toBe(1);
      expect(stderr).toContain('admin-errors');
      expect(stderr).not.toContain('endpoint-errors');
      execFileSync(process.execPath, [SCRIPT, '--readme', copy]);
      expect(readFileSync(copy, 'utf8')).toBe(original);
      writeFileSync(copy, original.replace('<!-- /reference:cli -->', ''));
      expect(runCheck(copy)).toMatchObject({ status: 2, stderr: expect.stringContaining("generated section 'cli'") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
