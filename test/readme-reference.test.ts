// The generated reference tables of README.md and docs/*.md are the code's: regenerating them changes nothing, and a
// stale, missing or duplicated table is caught.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

function runCheck(root: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, '--check', '--root', root], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

/** README.md and every page of docs/, as paths relative to `root`. */
function documents(root: string): string[] {
  return [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];
}

/** A copy of README.md and the Markdown pages of docs/, to break without touching the real ones. */
function copyOfDocuments(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'udapi-readme-'));
  cpSync(path.join(ROOT, 'README.md'), path.join(dir, 'README.md'));
  cpSync(path.join(ROOT, 'docs'), path.join(dir, 'docs'), {
    recursive: true,
    filter: (source) => !/\.png$/.test(source),
  });
  return dir;
}

describe('README and docs reference (npm run reference)', () => {
  it('matches the code: every generated section is up to date', () => {
    const { status, stderr } = runCheck(ROOT);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('lists every admin operation, error reason and endpoint code of the catalogues', () => {
    const pages = documents(ROOT)
      .map((file) => readFileSync(path.join(ROOT, file), 'utf8'))
      .join('\n');
    for (const operation of ADMIN_OPERATIONS)
      expect(pages).toContain(`\`${operation.method.toUpperCase()} ${operation.path}\``);
    for (const reason of Object.keys(ErrorReasons))
      expect(pages).toContain(`| \`${reason}\` | ${ErrorReasons[reason as keyof typeof ErrorReasons].status} |`);
    for (const [name, { code, status }] of Object.entries(ErrorCodes))
      expect(pages).toContain(`| ${code} | ${name} | ${status} |`);
  });

  it('catches a stale table and names it with its file, and rewrites it without --check', () => {
    const dir = copyOfDocuments();
    try {
      const originals = new Map(documents(dir).map((file) => [file, readFileSync(path.join(dir, file), 'utf8')]));
      const holder = [...originals.keys()].find((file) => /\| `IdInUse` \| 409 \|/.test(originals.get(file)!));
      expect(holder).toBeDefined();
      const original = originals.get(holder!)!;
      const stale = original.replace(/\| `IdInUse` \| 409 \|[^\n]*/, '| `IdInUse` | 409 | an outdated description |');
      expect(stale).not.toBe(original);
      writeFileSync(path.join(dir, holder!), stale);
      const { status, stderr } = runCheck(dir);
      expect(status).toBe(1);
      expect(stderr).toContain('admin-errors');
      expect(stderr).toContain(holder!);
      expect(stderr).not.toContain('endpoint-errors');
      execFileSync(process.execPath, [SCRIPT, '--root', dir]);
      for (const [file, text] of originals)
        expect({ file, text: readFileSync(path.join(dir, file), 'utf8') }).toEqual({ file, text });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing or a duplicated pair of markers (exit 2) before writing anything', () => {
    const dir = copyOfDocuments();
    try {
      const files = documents(dir);
      const cliEnd = '<!-- /reference:cli -->';
      const holder = files.find((file) => readFileSync(path.join(dir, file), 'utf8').includes(cliEnd))!;
      const original = readFileSync(path.join(dir, holder), 'utf8');
      writeFileSync(path.join(dir, holder), original.replace(cliEnd, ''));
      expect(runCheck(dir)).toMatchObject({ status: 2, stderr: expect.stringContaining("generated section 'cli'") });

      // The same section in two files: refused, and no file is rewritten, not even one with a stale table.
      writeFileSync(path.join(dir, holder), original);
      const section = original.slice(original.indexOf('<!-- reference:cli '), original.indexOf(cliEnd) + cliEnd.length);
      const other = files.find((file) => file !== holder)!;
      const otherText = `${readFileSync(path.join(dir, other), 'utf8')}\n${section}\n`;
      writeFileSync(path.join(dir, other), otherText);
      const errorsHolder = files.find((file) =>
        /\| `IdInUse` \| 409 \|/.test(readFileSync(path.join(dir, file), 'utf8')),
      )!;
      const staleErrors = readFileSync(path.join(dir, errorsHolder), 'utf8').replace(
        /\| `IdInUse` \| 409 \|[^\n]*/,
        '| `IdInUse` | 409 | an outdated description |',
      );
      writeFileSync(path.join(dir, errorsHolder), staleErrors);
      const rewrite = spawnSync(process.execPath, [SCRIPT, '--root', dir], { encoding: 'utf8' });
      expect({ status: rewrite.status, stderr: rewrite.stderr }).toMatchObject({
        status: 2,
        stderr: expect.stringContaining("generated section 'cli'"),
      });
      expect(rewrite.stderr).toContain(holder);
      expect(rewrite.stderr).toContain(other);
      expect(readFileSync(path.join(dir, errorsHolder), 'utf8')).toBe(staleErrors);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
