// A definition of the in-memory view as the request path and the explainer read it.
import type { RouteSegment } from '../domain/route-grammar';
import type { ActionMeta, ActionType } from '../types';

/** No definition allows any token: all such views share this list. */
export const NO_TOKENS: readonly string[] = Object.freeze([]);

/**
 * A definition as the request path needs it. Every field is set when the view is made, in one order, so that all
 * views share one shape. The view keeps definitions as text (definition-table.ts) and makes these on demand.
 */
export interface CachedDefinition {
  id: string;
  route: string;
  /** Frozen, as parseRoute gives them. */
  segments: readonly RouteSegment[];
  /** Sorted, without repeats; ask allowsToken whether it has an id. */
  allowedTokens: readonly string[];
  /** Scopes an allowed token must all carry; NO_SCOPES (token-grants.ts) when none. */
  requiredScopes: readonly string[];
  actionType: ActionType;
  actionMeta: ActionMeta;
  /** The input schemas' JSON text as stored (compiled at the first call: input-check.ts); null when none. */
  inputSchemas: string | null;
  /** Epoch ms of the stored change this view shows (part of its fingerprint). */
  lastModified: number;
}
