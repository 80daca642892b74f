// Matches a request path to the best definition with a segment trie, so the cost never grows with the number of routes.
import { foldCase, type RouteSegment } from '../domain/route-grammar';
import { EntryIndex, textHash } from './entry-index';
import { PackedTexts } from './packed-texts';
import { resized } from './typed-columns';

/** No node, no child, no definition. */
const NONE = 0;
const ROOT = 1;

/**
 * A trie of route segments whose nodes are numbers and whose fields are typed arrays: a literal child is found in
 * one hash index keyed by (parent, lower-case segment), the parameter child and the definition that ends at a
 * node sit in columns. A view of 10,000 definitions holds no object per node for a major collection to mark.
 * Definitions are numbers too (the owner's slots); a route's segments are passed in, never kept.
 */
export class RouteMatcher {
  private capacity = 0;
  /** Nodes handed out so far; node 0 stands for none. */
  private used = 1;
  private freeNodes: number[] = [];
  private parents = new Int32Array(0);
  private paramChildren = new Int32Array(0);
  /** Definition + 1 of the route that ends at the node; NONE when none does. */
  private ends = new Int32Array(0);
  /** Literal children and parameter child, to tell when a node is left empty. */
  private childCounts = new Int32Array(0);
  /** The hash of the edge into the node (its parent and its key), to refile it when the index grows. */
  private edgeHashes = new Uint32Array(0);
  /** The lower-case literal of the edge into the node; null for a parameter node and the root. */
  private keys = new PackedTexts();
  /** The parent whose literal child a lookup seeks (the index compares entries against it). */
  private lookupParent = NONE;
  private readonly literals = new EntryIndex<string>(
    (node) => this.edgeHashes[node]!,
    (node, key) => this.parents[node] === this.lookupParent && this.keys.equals(node, key),
  );
  /** The best end found by the search under way, and its number of literal segments. */
  private bestEnd = NONE;
  private bestLiterals = -1;

  constructor() {
    this.allocate();
  }

  /** Nodes in use besides the root, and how many of them the literal index files: both 0 once every route is gone. */
  get footprint(): { nodes: number; literalEdges: number } {
    return { nodes: this.used - 2 - this.freeNodes.length, literalEdges: this.literals.size };
  }

  /** Files `definition` as the one that ends at this route's shape (replacing any other there). */
  set(definition: number, segments: readonly RouteSegment[]): void {
    let node = ROOT;
    for (const segment of segments) {
      if (segment.kind === 'literal') {
        const child = this.literalChild(node, segment.lower);
        node = child !== NONE ? child : this.addLiteralChild(node, segment.lower);
      } else {
        if (this.paramChildren[node] === NONE) {
          const child = this.allocate();
          this.parents[child] = node;
          this.paramChildren[node] = child;
          this.childCounts[node] = this.childCounts[node]! + 1;
        }
        node = this.paramChildren[node]!;
      }
    }
    this.ends[node] = definition + 1;
  }

  /** Unfiles `definition` from this route's shape, if it is the one there, and drops the nodes left empty. */
  delete(definition: number, segments: readonly RouteSegment[]): void {
    let node = ROOT;
    for (const segment of segments) {
      node = segment.kind === 'literal' ? this.literalChild(node, segment.lower) : this.paramChildren[node]!;
      if (node === NONE) return;
    }
    if (this.ends[node] !== definition + 1) return;
    this.ends[node] = NONE;
    while (node !== ROOT && this.ends[node] === NONE && this.childCounts[node] === 0) {
      const parent = this.parents[node]!;
      if (this.paramChildren[parent] === node) this.paramChildren[parent] = NONE;
      else this.literals.delete(this.edgeHashes[node]!, node);
      this.childCounts[parent] = this.childCounts[parent]! - 1;
      this.keys.clear(node);
      this.freeNodes.push(node);
      node = parent;
    }
  }

  /**
   * The best definition for these (decoded) request segments, or -1. Priority (docs/endpoint.md, Route matching):
   * more literal segments win (a fully static route has the most), then the first position where one has a literal
   * and the other a parameter decides for the literal. The search tries a node's literal child before its parameter
   * child, so among matches with equally many literals the first it finds is the best.
   */
  match(path: readonly string[]): number {
    this.bestEnd = NONE;
    this.bestLiterals = -1;
    this.search(ROOT, path, 0, 0);
    return this.bestEnd - 1;
  }

  private search(node: number, path: readonly string[], depth: number, literals: number): void {
    if (depth === path.length) {
      const end = this.ends[node]!;
      if (end !== NONE && literals > this.bestLiterals) {
        this.bestEnd = end;
        this.bestLiterals = literals;
      }
      return;
    }
    const segment = path[depth]!;
    const literal = this.literalChild(node, foldCase(segment));
    if (literal !== NONE) this.search(literal, path, depth + 1, literals + 1);
    // `{x}` matches exactly one non-empty segment.
    const param = this.paramChildren[node]!;
    if (param !== NONE && segment !== '') this.search(param, path, depth + 1, literals);
  }

  private literalChild(parent: number, key: string): number {
    this.lookupParent = parent;
    return this.literals.find(textHash(key, parent), key);
  }

  private addLiteralChild(parent: number, key: string): number {
    const child = this.allocate();
    this.parents[child] = parent;
    this.keys.set(child, key);
    const hash = textHash(key, parent);
    this.edgeHashes[child] = hash;
    this.lookupParent = parent;
    this.literals.set(hash, child, key);
    this.childCounts[parent] = this.childCounts[parent]! + 1;
    return child;
  }

  private allocate(): number {
    const node = this.freeNodes.pop() ?? this.used++;
    if (node >= this.capacity) this.grow(Math.max(64, this.capacity * 2));
    this.parents[node] = NONE;
    this.paramChildren[node] = NONE;
    this.ends[node] = NONE;
    this.childCounts[node] = 0;
    return node;
  }

  private grow(capacity: number): void {
    this.parents = resized(this.parents, capacity);
    this.paramChildren = resized(this.paramChildren, capacity);
    this.ends = resized(this.ends, capacity);
    this.childCounts = resized(this.childCounts, capacity);
    this.edgeHashes = resized(this.edgeHashes, capacity);
    this.keys.resize(capacity);
    this.capacity = capacity;
  }
}

/** The values of a route's `{name}` segments in a matched path, as received. */
export function routeParameters(segments: readonly RouteSegment[], path: readonly string[]): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    // defineProperty keeps a parameter named `__proto__` an ordinary key.
    if (segment.kind === 'param')
      Object.defineProperty(parameters, segment.name, {
        value: path[i],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return parameters;
}
