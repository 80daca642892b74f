// Keeps the source's one direction of imports (docs/architecture.md): each module imports only its own floor or
// lower ones, the endpoint and the admin HTTP layer never import each other, and no import cycle exists.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.join(__dirname, '..', 'src');

interface Floor {
  name: string;
  /** Higher floors may import lower ones; two floors of one level (siblings) may not import each other. */
  level: number;
  /** Paths under src/: a directory ends with '/', anything else is one file. */
  paths: string[];
}

/** The floors, bottom first; the architecture page describes the same table. */
const FLOORS: Floor[] = [
  {
    name: 'domain',
    level: 0,
    paths: ['domain/', 'shared/', 'actions/', 'errors.ts', 'types.ts', 'permissions.ts', 'logging.ts'],
  },
  { name: 'database', level: 1, paths: ['models/', 'database/'] },
  { name: 'in-memory view', level: 2, paths: ['catalog/'] },
  { name: 'services', level: 3, paths: ['services/', 'security/', 'metrics/', 'usage/', 'health.ts'] },
  { name: 'endpoint', level: 4, paths: ['endpoint/', 'host-routes/'] },
  { name: 'admin HTTP', level: 4, paths: ['http/'] },
  { name: 'plugin', level: 5, paths: ['plugin.ts', 'options.ts', 'index.ts', 'cli/'] },
];

/** The source modules, as paths relative to src/ with '/' separators (the browser UI's JavaScript is not imported). */
function sourceFiles(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [path.relative(SRC, full).split(path.sep).join('/')] : [];
  });
}

/** Every relative module a file imports, type-only imports and re-exports included, resolved to a path under src/. */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const resolved = [`${base}.ts`, `${base}/index.ts`].find((candidate) => known.has(candidate));
      if (!resolved) throw new Error(`${file} imports ${specifier}, which is not a module under src/`);
      return resolved;
    });
}

function floorOf(file: string): Floor | undefined {
  return FLOORS.find((floor) => floor.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
}

export type Graph = ReadonlyMap<string, readonly string[]>;

/** Imports that go up a floor or sideways between sibling floors, and files that no floor holds. */
export function wrongWayImports(graph: Graph, floorFor: (file: string) => Floor | undefined): string[] {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const from = floorFor(file);
    if (!from) {
      problems.push(`${file} belongs to no floor: add it to FLOORS and to docs/architecture.md`);
      continue;
    }
    for (const target of imports) {
      const to = floorFor(target);
      if (!to || to === from) continue;
      if (to.level > from.level || (to.level === from.level && to !== from))
        problems.push(`${file} (${from.name}) imports ${target} (${to.name})`);
    }
  }
  return problems;
}

/** The import cycles (Tarjan's strongly connected components of more than one module, or a module importing itself). */
export function importCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

describe('layering', () => {
  const files = sourceFiles();
  const known = new Set(files);
  const graph: Graph = new Map(files.map((file) => [file, importsOf(file, known)]));

  it('reads the whole source', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get('plugin.ts')).toEqual(expect.arrayContaining(['options.ts', 'endpoint/endpoint-handler.ts']));
  });

  it('imports run one way: domain <- database <- in-memory view <- services <- endpoint | admin HTTP <- plugin', () => {
    expect(wrongWayImports(graph, floorOf)).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('can fail: an upward, a sideways and an unplaced import, and a cycle, are each reported', () => {
    const fake: Graph = new Map([
      ['errors.ts', ['plugin.ts']],
      ['endpoint/a.ts', ['http/b.ts']],
      ['http/b.ts', []],
      ['plugin.ts', ['errors.ts']],
      ['elsewhere/c.ts', []],
    ]);
    expect(wrongWayImports(fake, floorOf)).toEqual([
      'errors.ts (domain) imports plugin.ts (plugin)',
      'endpoint/a.ts (endpoint) imports http/b.ts (admin HTTP)',
      'elsewhere/c.ts belongs to no floor: add it to FLOORS and to docs/architecture.md',
    ]);
    expect(importCycles(fake)).toEqual([['errors.ts', 'plugin.ts']]);
  });
});
