// Each integer option's TSDoc (and so the generated configuration page) states the range and default the code enforces.
import path from 'node:path';
import ts from 'typescript';
import { FAILED_AUTH_THROTTLE_OPTIONS, INTEGER_OPTIONS, type IntegerRule } from '../src/options';

const UNITS: [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/** How the TSDoc writes a number: bytes in the largest whole unit (29 MiB), anything else as plain digits. */
function written(value: number, bytes: boolean): string {
  if (bytes && value > 0) for (const [size, unit] of UNITS) if (value % size === 0) return `${value / size} ${unit}`;
  return String(value);
}

/** The TSDoc of each property of an interface of src/types.ts, as the compiler reads it. */
function docsOf(interfaceName: string): Map<string, string> {
  const file = path.join(__dirname, '..', 'src', 'types.ts');
  const program = ts.createProgram([file], { strict: true, skipLibCheck: true, noResolve: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const docs = new Map<string, string>();
  ts.forEachChild(source, (node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== interfaceName) return;
    for (const member of node.members) {
      const symbol = member.name && checker.getSymbolAtLocation(member.name);
      if (symbol)
        docs.set(
          symbol.getName(),
          ts.displayPartsToString(symbol.getDocumentationComment(checker)).replace(/\s+/g, ' '),
        );
    }
  });
  return docs;
}

function expectStated(doc: string | undefined, name: string, rule: IntegerRule): void {
  const bytes = /Bytes$/.test(name);
  const range = `${written(rule.min, bytes)}-${written(rule.max, bytes)}`;
  const fallback = `Default ${written(rule.fallback, bytes)}`;
  expect({ name, range: doc?.includes(range), fallback: doc?.includes(fallback) }).toEqual({
    name,
    range: true,
    fallback: true,
  });
}

describe('option documentation', () => {
  const options = docsOf('UserDefinedApisOptions');

  it.each(Object.entries(INTEGER_OPTIONS))('%s states its range and default', (name, rule) => {
    expectStated(options.get(name), name, rule);
  });

  it('failedAuthThrottle states the range and default of each part', () => {
    const doc = options.get('failedAuthThrottle') ?? '';
    for (const [part, rule] of Object.entries(FAILED_AUTH_THROTTLE_OPTIONS)) {
      expect({
        part,
        range: doc.includes(`${part} ${rule.min}-${rule.max}`),
        fallback: doc.includes(`${part}: ${rule.fallback}`),
      }).toEqual({ part, range: true, fallback: true });
    }
  });

  it('catches a stale default: the check can fail', () => {
    expect(() =>
      expectStated('Some option, 1-10. Default 5.', 'someOption', { min: 1, max: 10, fallback: 6 }),
    ).toThrow();
  });
});
