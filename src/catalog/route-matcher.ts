// Matches a request path to the best definition with a segment trie, so the cost never grows with the number of routes.
import { foldCase, type RouteSegment } from '../domain/route-grammar';
import { Interned } from './interned';

export interface MatchableRoute {
  id: string;
  segments: readonly RouteSegment[];
}

export interface RouteMatch<T extends MatchableRoute> {
  definition: T;
  /** Values of the `{name}` segments, as received (already percent-decoded once by the caller). */
  routeParameters: Record<string, string>;
}

/**
 * A node of the trie, kept small because a view holds one to three per definition: its literal children's map is
 * made only when the first is added, and the definition that ends here sits on the node itself.
 */
interface TrieNode<T> {
  /** The literal children: a lone one inline (most nodes have one at most), two or more in `literals`. */
  onlyKey: string | undefined;
  only: TrieNode<T> | undefined;
  literals: Map<string, TrieNode<T>> | undefined;
  param: TrieNode<T> | undefined;
  /** The definition that ends here; at most one, since equal shapes conflict and are refused on save. */
  definition: T | undefined;
  /**
   * Priority among several matches (docs/endpoint.md, Route matching): a fully static route beats any dynamic one; among dynamic
   * routes, more literal segments win; then, scanning left to right, the first position where one has a
   * literal and the other a parameter decides for the literal ("the route whose first literal comes earlier").
   * Encoded once per definition as a string that compares the same way: the literal count, then 'b' for a
   * literal and 'a' for a parameter at each position. Candidates always have the same number of segments.
   */
  rank: string;
}

const newNode = <T>(): TrieNode<T> => ({
  onlyKey: undefined,
  only: undefined,
  literals: undefined,
  param: undefined,
  definition: undefined,
  rank: '',
});

function literalChild<T>(node: TrieNode<T>, key: string): TrieNode<T> | undefined {
  return node.onlyKey === key ? node.only : node.literals?.get(key);
}

function addLiteralChild<T>(node: TrieNode<T>, key: string): TrieNode<T> {
  const child = newNode<T>();
  if (node.only === undefined && node.literals === undefined) {
    node.onlyKey = key;
    node.only = child;
    return child;
  }
  if (node.only !== undefined) {
    node.literals = new Map([[node.onlyKey!, node.only]]);
    node.onlyKey = undefined;
    node.only = undefined;
  }
  node.literals!.set(key, child);
  return child;
}

function removeLiteralChild<T>(node: TrieNode<T>, key: string): void {
  if (node.onlyKey === key) {
    node.onlyKey = undefined;
    node.only = undefined;
  } else if (node.literals?.delete(key) && node.literals.size === 0) {
    node.literals = undefined;
  }
}

function isEmpty<T>(node: TrieNode<T>): boolean {
  return !node.definition && !node.param && !node.only && !node.literals;
}

/** Ranks are few (one per shape of route): each distinct one is held once, however many definitions share it. */
const ranks = new Interned<string>(10_000);

function rankOf(segments: readonly RouteSegment[]): string {
  const literals = segments.filter((segment) => segment.kind === 'literal').length;
  const rank =
    String(literals).padStart(4, '0') + segments.map((segment) => (segment.kind === 'literal' ? 'b' : 'a')).join('');
  return ranks.of(rank, rank);
}

export class RouteMatcher<T extends MatchableRoute> {
  private readonly root = newNode<T>();
  private readonly byId = new Map<string, T>();

  get size(): number {
    return this.byId.size;
  }

  /** Adds or replaces the definition with this id. */
  set(definition: T): void {
    this.delete(definition.id);
    let node = this.root;
    for (const segment of definition.segments) {
      if (segment.kind === 'literal') {
        node = literalChild(node, segment.lower) ?? addLiteralChild(node, segment.lower);
      } else {
        node.param ??= newNode<T>();
        node = node.param;
      }
    }
    node.definition = definition;
    node.rank = rankOf(definition.segments);
    this.byId.set(definition.id, definition);
  }

  delete(id: string): void {
    const existing = this.byId.get(id);
    if (!existing) return;
    this.byId.delete(id);
    // Walk down, remembering the path, then prune nodes left empty.
    const path: [TrieNode<T>, string | null][] = [];
    let node: TrieNode<T> | undefined = this.root;
    for (const segment of existing.segments) {
      if (!node) return;
      const key = segment.kind === 'literal' ? segment.lower : null;
      path.push([node, key]);
      node = key === null ? node.param : literalChild(node, key);
    }
    if (!node || node.definition?.id !== id) return;
    node.definition = undefined;
    node.rank = '';
    for (let i = path.length - 1; i >= 0; i -= 1) {
      const [parent, key] = path[i]!;
      const child = key === null ? parent.param : literalChild(parent, key);
      if (!child || !isEmpty(child)) break;
      if (key === null) parent.param = undefined;
      else removeLiteralChild(parent, key);
    }
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** The best definition for these (decoded) request segments, or undefined. */
  match(segments: readonly string[]): RouteMatch<T> | undefined {
    const best = this.search(this.root, segments, 0, undefined);
    if (!best) return undefined;
    const routeParameters: Record<string, string> = {};
    const found = best.definition!;
    for (let i = 0; i < found.segments.length; i += 1) {
      const segment = found.segments[i]!;
      // defineProperty keeps a parameter named `__proto__` an ordinary key.
      if (segment.kind === 'param')
        Object.defineProperty(routeParameters, segment.name, {
          value: segments[i],
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return { definition: found, routeParameters };
  }

  /** Depth-first over the literal and the parameter branch; both can match, so the best node with a definition is kept. */
  private search(
    node: TrieNode<T>,
    segments: readonly string[],
    depth: number,
    best: TrieNode<T> | undefined,
  ): TrieNode<T> | undefined {
    if (depth === segments.length) return node.definition && (!best || node.rank > best.rank) ? node : best;
    const segment = segments[depth]!;
    const literal = literalChild(node, foldCase(segment));
    if (literal) best = this.search(literal, segments, depth + 1, best);
    // `{x}` matches exactly one non-empty segment.
    if (node.param && segment !== '') best = this.search(node.param, segments, depth + 1, best);
    return best;
  }
}
