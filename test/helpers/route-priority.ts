// The route priority rule read literally (docs/endpoint.md, Route matching): the reference the matchers are tested against.
import type { RouteSegment } from '../../src/domain/route-grammar';

/** The id of the route a path calls: static first, then more literals, then the earlier first literal. */
export function routeByPriority(
  routes: readonly { id: string; segments: readonly RouteSegment[] }[],
  path: readonly string[],
): string | undefined {
  const fits = routes.filter(
    ({ segments }) =>
      segments.length === path.length &&
      segments.every((segment, i) =>
        segment.kind === 'param' ? path[i] !== '' : segment.lower === path[i]!.toLowerCase(),
      ),
  );
  const literals = (segments: readonly RouteSegment[]) =>
    segments.filter((segment) => segment.kind === 'literal').length;
  fits.sort((a, b) => {
    if (literals(a.segments) !== literals(b.segments)) return literals(b.segments) - literals(a.segments);
    for (let i = 0; i < a.segments.length; i += 1) {
      if (a.segments[i]!.kind !== b.segments[i]!.kind) return a.segments[i]!.kind === 'literal' ? -1 : 1;
    }
    return 0;
  });
  return fits[0]?.id;
}
