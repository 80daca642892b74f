// The endpoint's path reader: segments decoded once exactly as decodeURIComponent would, malformed ones kept as received.
import fc from 'fast-check';
import { parseRequestPath } from '../src/domain/request-path';
import { propertySeed } from './helpers/seed';

/** What the reader did before it decoded by hand: decodeURIComponent, keeping the segment when it throws. */
function byDecodeUriComponent(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

describe('parseRequestPath', () => {
  it('decodes each segment as decodeURIComponent does, and keeps a malformed one as received', () => {
    const seed = propertySeed('request path property');
    const piece = fc.oneof(
      fc.constantFrom(
        '%',
        '%2',
        '%zz',
        '%2F',
        '%2f',
        '%41',
        '%C3%A9',
        '%C3',
        '%E2%82%AC',
        '%F0%9F%98%80',
        '%ED%A0%80',
        '%C0%AF',
        '%FF',
        '%00',
        'a',
        'é',
        '😀',
        '-',
      ),
      fc.constantFrom(
        '%E0%80%80',
        '%EF%BF%BF',
        '%F4%8F%BF%BF',
        '%F4%90%80%80',
        '%F8%88%80%80%80',
        '%80',
        '%C2',
        '%C2%80',
        '%E0%A0',
        '%ED%9F%BF',
        '%EE%80%80',
        '\uD800',
        '\uDC00',
      ),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('').replace(/[/?]/g, '')),
        (segment) => {
          expect(parseRequestPath(`/x/${segment}`).segments).toEqual(
            segment === '' ? ['x'] : ['x', byDecodeUriComponent(segment)],
          );
        },
      ),
      { numRuns: 20_000, seed },
    );
  });

  it('normalises slashes and splits the query', () => {
    expect(parseRequestPath('//a///b%20c/?q=1&r')).toEqual({
      route: 'a/b%20c',
      segments: ['a', 'b c'],
      rawQuery: 'q=1&r',
    });
    expect(parseRequestPath('/')).toEqual({ route: '', segments: [], rawQuery: '' });
  });
});
