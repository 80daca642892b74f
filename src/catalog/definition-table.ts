// The definitions of the in-memory view as text in typed arrays, found by id and by route, made into objects on demand.
import { parseRoute } from '../domain/route-grammar';
import type { ActionMeta, ActionType } from '../types';
import { NO_TOKENS, type CachedDefinition } from './cached-definition';
import { EntryIndex, textHash } from './entry-index';
import { PackedTexts } from './packed-texts';
import { RecentViews } from './recent-views';
import { RouteMatcher, routeParameters } from './route-matcher';
import { resized } from './typed-columns';
import { scopesView } from './token-grants';

/** What a definition's record holds besides its id, in this order (JSON text, one per slot). */
type DefinitionRecord = [
  route: string,
  allowedTokens: readonly string[],
  requiredScopes: readonly string[],
  actionType: ActionType,
  actionMeta: ActionMeta,
  inputSchemas: string | null,
  lastModified: number,
];

/**
 * Views handed out lately, so calls of the same route share one object: bounded, oldest first out. Enough for every
 * definition of a large deployment to stay made while it is called (10,000 definitions called in turn missed every
 * time with 4,096, about 7 µs a call in-process); each costs about as much heap as a definition held before.
 */
const MAX_CACHED_VIEWS = 16_384;

export interface DefinitionMatch {
  definition: CachedDefinition;
  /** Values of the `{name}` segments, as received (already percent-decoded once by the caller). */
  routeParameters: Record<string, string>;
}

/**
 * The definitions of the view, one slot each: the id and a JSON record of the rest as UTF-16 code units, the
 * routes in a trie of typed arrays. A view of 10,000 definitions holds no object per definition for a major
 * collection to mark (it held about thirteen, docs/performance.md "GC regimes"). A definition is handed out as a
 * CachedDefinition made on demand; the last 16,384 are kept, so a route's calls share one. A change frees the
 * slot and takes another, so a view handed out earlier stays as it was.
 */
export class DefinitionTable {
  private capacity = 0;
  private used = 0;
  private freeSlots: number[] = [];
  private stored = 0;
  private ids = new PackedTexts();
  private idHashes = new Uint32Array(0);
  private records = new PackedTexts();
  private readonly routes = new RouteMatcher();
  /** Entries: slot + 1. */
  private readonly byId = new EntryIndex<string>(
    (entry) => this.idHashes[entry - 1]!,
    (entry, id) => this.ids.equals(entry - 1, id),
  );
  /** By slot. */
  private readonly views = new RecentViews<CachedDefinition>(MAX_CACHED_VIEWS);

  get size(): number {
    return this.stored;
  }

  /** The route trie's nodes and literal edges (RouteMatcher.footprint). */
  get routeFootprint(): { nodes: number; literalEdges: number } {
    return this.routes.footprint;
  }

  get(id: string): CachedDefinition | undefined {
    const slot = this.slotOf(id);
    return slot < 0 ? undefined : this.view(slot);
  }

  /** The best definition for these (decoded) request segments and its parameters' values, or undefined. */
  match(path: readonly string[]): DefinitionMatch | undefined {
    const slot = this.routes.match(path);
    if (slot < 0) return undefined;
    const definition = this.view(slot);
    return { definition, routeParameters: routeParameters(definition.segments, path) };
  }

  /** Stores a definition (its view as catalog.ts makes it) under its id, replacing what was there. */
  put(definition: CachedDefinition): void {
    this.delete(definition.id);
    const slot = this.allocate();
    const record: DefinitionRecord = [
      definition.route,
      definition.allowedTokens,
      definition.requiredScopes,
      definition.actionType,
      definition.actionMeta,
      definition.inputSchemas,
      definition.lastModified,
    ];
    this.ids.set(slot, definition.id);
    this.records.set(slot, JSON.stringify(record));
    const hash = textHash(definition.id);
    this.idHashes[slot] = hash;
    // delete() above left no entry with this id.
    this.byId.set(hash, slot + 1, definition.id);
    this.routes.set(slot, definition.segments);
    this.stored += 1;
  }

  /** Removes the definition stored under this id; false when there is none. */
  delete(id: string): boolean {
    const slot = this.slotOf(id);
    if (slot < 0) return false;
    this.routes.delete(slot, (this.views.get(slot) ?? this.make(slot)).segments);
    this.byId.delete(this.idHashes[slot]!, slot + 1);
    this.ids.clear(slot);
    this.records.clear(slot);
    this.views.delete(slot);
    this.freeSlots.push(slot);
    this.stored -= 1;
    return true;
  }

  private slotOf(id: string): number {
    return this.byId.find(textHash(id), id) - 1;
  }

  private view(slot: number): CachedDefinition {
    const cached = this.views.get(slot);
    if (cached) return cached;
    const view = this.make(slot);
    this.views.add(slot, view);
    return view;
  }

  private make(slot: number): CachedDefinition {
    const [route, allowedTokens, requiredScopes, actionType, actionMeta, inputSchemas, lastModified] = JSON.parse(
      this.records.get(slot)!,
    ) as DefinitionRecord;
    const parsed = parseRoute(route, '');
    // Only routes that parsed were stored, and a route that parsed under the base path parses under none.
    if ('problem' in parsed) throw new Error(`A stored definition's route no longer parses: ${parsed.problem}`);
    // Same fields in the same order as catalog.ts's cachedDefinition, so that every view shares one shape.
    return {
      id: this.ids.get(slot)!,
      route,
      segments: Object.freeze(parsed.segments.map((segment) => Object.freeze(segment))),
      allowedTokens: allowedTokens.length === 0 ? NO_TOKENS : Object.freeze(allowedTokens),
      requiredScopes: scopesView(requiredScopes),
      actionType,
      actionMeta: Object.freeze(actionMeta),
      inputSchemas,
      lastModified,
    };
  }

  private allocate(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (this.used === this.capacity) {
      const capacity = Math.max(64, Math.ceil(this.capacity * 1.5));
      this.idHashes = resized(this.idHashes, capacity);
      this.ids.resize(capacity);
      this.records.resize(capacity);
      this.capacity = capacity;
    }
    return this.used++;
  }
}
