// The scopes and metadata of the in-memory view: frozen, with one shared empty list for the many without scopes.
import type { TokenMetadata } from '../types';

/** The scopes of every token and definition that has none: one array, so none costs an allocation. */
export const NO_SCOPES: readonly string[] = Object.freeze([]);

/** A stored list of scopes (absent in older documents) as the view holds it. */
export function scopesView(scopes: readonly string[] | null | undefined): readonly string[] {
  return scopes && scopes.length > 0 ? Object.freeze([...scopes]) : NO_SCOPES;
}

/** Stored metadata (absent in older documents) as the view holds it: null when there is none. */
export function metadataView(metadata: TokenMetadata | null | undefined): TokenMetadata | null {
  return metadata ?? null;
}

/** Whether a token carries every required scope; a definition that requires none costs one length check. */
export function hasEveryScope(tokenScopes: readonly string[], requiredScopes: readonly string[]): boolean {
  for (const scope of requiredScopes) if (!tokenScopes.includes(scope)) return false;
  return true;
}
