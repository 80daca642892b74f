// The Bearer header reader: the same answers as the pattern it replaced (its cost is checked over HTTP in test/hostile-parsers.test.ts).
import fc from 'fast-check';
import { bearerSecret } from '../src/endpoint/authorization-header';
import { propertySeed } from './helpers/seed';

// The pattern the endpoint used before: right on short headers, quadratic on long runs of spaces.
const OLD_PATTERN = /^Bearer(?: +([^ ]*))? *$/i;
const byPattern = (header: string): string | null => {
  const match = OLD_PATTERN.exec(header);
  return match ? (match[1] ?? '') : null;
};

describe('bearerSecret', () => {
  it('reads what the old pattern read, for any short header', () => {
    const seed = propertySeed('bearerSecret property');
    const piece = fc.constantFrom(
      'Bearer',
      'bearer',
      'BEARER',
      'BeArEr',
      'bE',
      'Ar',
      'eR',
      'B',
      'Basic',
      ' ',
      '  ',
      '\t',
      'x',
      'abc',
      'ſ',
      '\u0002',
      '=',
      '',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')),
        (header) => {
          expect(bearerSecret(header)).toBe(byPattern(header));
        },
      ),
      { numRuns: 20_000, seed },
    );
  });

  it('answers the documented cases', () => {
    expect(bearerSecret(undefined)).toBeNull();
    expect(bearerSecret('Basic abc')).toBeNull();
    expect(bearerSecret('Bearerabc')).toBeNull();
    expect(bearerSecret('Bearer a b')).toBeNull();
    expect(bearerSecret('Bearer')).toBe('');
    expect(bearerSecret('Bearer   ')).toBe('');
    expect(bearerSecret('bEaReR  secret  ')).toBe('secret');
  });
});
