// Matches a request path to the best definition with a segment trie, so the cost never grows with the number of routes.
import { foldCase, type RouteSegment } from '../routing/route-grammar';

export interface MatchableRoute {
  id: string;
  segments: readonly RouteSegment[];
}

export interface RouteMatch<T extends MatchableRoute> {
  definition: T;
  /** Values of the `{name}` segments, as received (already percent-decoded once by the caller). */
  routeParameters: Record<string, string>;
}

interface Terminal<T> {
  definition: T;
  /**
   * Priority among several matches (docs/endpoint.md, Route matching): a fully static route beats any dynamic one; among dynamic
   * routes, more literal segments win; then, scanning left to right, the first position where one has a
   * literal and the other a parameter decides for the literal ("the route whose first literal comes earlier").
   * Encoded once per definition as a string that compares the same way: the literal count, then 'b' for a
   * literal and 'a' for a parameter at each position. Candidates always have the same number of segments.
   */
  rank: string;
}

interface TrieNode<T> {
  literals: Map<string, TrieNode<T>>;
  param: TrieNode<T> | undefined;
  /** The definition that ends here; at most one, since equal shapes conflict and are refused on save. */
  terminal: Terminal<T> | undefined;
}

const newNode = <T>(): TrieNode<T> => ({ literals: new Map(), param: undefined, terminal: undefined });

function rankOf(segments: readonly RouteSegment[]): string {
  const literals = segments.filter((segment) => segment.kind === 'literal').length;
  return String(literals).padStart(4, '0') + segments.map((segment) => (segment.kind === 'literal' ? 'b' : 'a')).join('');
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
        let next = node.literals.get(segment.lower);
        if (!next) {
          next = newNode<T>();
          node.literals.set(segment.lower, next);
        }
        node = next;
      } else {
        node.param ??= newNode<T>();
        node = node.param;
      }
    }
    node.terminal = { definition, rank: rankOf(definition.segments) };
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
      node = key === null ? node.param : node.literals.get(key);
    }
    if (!node || node.terminal?.definition.id !== id) return;
    node.terminal = undefined;
    for (let i = path.length - 1; i >= 0; i -= 1) {
      const [parent, key] = path[i]!;
      const child = key === null ? parent.param : parent.literals.get(key);
      if (!child || child.terminal || child.param || child.literals.size > 0) break;
      if (key === null) parent.param = undefined;
      else parent.literals.delete(key);
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
    const found = best.definition;
    for (let i = 0; i < found.segments.length; i += 1) {
      const segment = found.segments[i]!;
      // defineProperty keeps a parameter named `__proto__` an ordinary key.
      if (segment.kind === 'param') Object.defineProperty(routeParameters, segment.name, { value: segments[i], enumerable: true, writable: true, configurable: true });
    }
    return { definition: found, routeParameters };
  }

  /** Depth-first over the literal and the parameter branch; both can match, so the best terminal is kept. */
  private search(node: TrieNode<T>, segments: readonly string[], depth: number, best: Terminal<T> | undefined): Terminal<T> | undefined {
    if (depth === segments.length) {
      const terminal = node.terminal;
      return terminal && (!best || terminal.rank > best.rank) ? terminal : best;
    }
    const segment = segments[depth]!;
    const literal = node.literals.get(foldCase(segment));
    if (literal) best = this.search(literal, segments, depth + 1, best);
    // `{x}` matches exactly one non-empty segment.
    if (node.param && segment !== '') best = this.search(node.param, segments, depth + 1, best);
    return best;
  }
}
