// Short digests of what the in-memory view holds of a token or a definition, so change records can say what they replaced.
import { createHash } from 'node:crypto';
import type { ActionMeta, ActionType, RateLimit, TokenMetadata } from '../types';

/** The fields of a token's view that its fingerprint covers (catalog.ts's CachedToken has them). */
interface TokenView {
  lastModified: number;
  secretDigest: string;
  isDisabled: boolean;
  expiresAt: number | null;
  rateLimit: RateLimit | null;
  previousSecretDigest: string | null;
  previousSecretExpiresAt: number | null;
  name: string;
  scopes: readonly string[];
  metadata: TokenMetadata | null;
  start: string | null;
}

/** The fields of a definition's view that its fingerprint covers (catalog.ts's CachedDefinition has them). */
interface DefinitionView {
  lastModified: number;
  route: string;
  allowedTokens: Iterable<string>;
  requiredScopes: readonly string[];
  actionType: ActionType;
  actionMeta: ActionMeta;
  inputSchemas: string | null;
}

/**
 * Every field the endpoint decides with, and the time of the stored change: two states with the same fingerprint
 * decide every call the same way. Hashed only to keep change records short; it is compared, never reversed, and
 * the change record holding it holds the stored state anyway.
 */
function digestOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

export function tokenFingerprint(token: TokenView): string {
  return digestOf([
    token.lastModified,
    token.secretDigest,
    token.isDisabled,
    token.expiresAt,
    token.rateLimit,
    token.previousSecretDigest,
    token.previousSecretExpiresAt,
    token.name,
    token.scopes,
    token.metadata,
    token.start,
  ]);
}

export function definitionFingerprint(definition: DefinitionView): string {
  return digestOf([
    definition.lastModified,
    definition.route,
    [...definition.allowedTokens].sort(),
    definition.requiredScopes,
    definition.actionType,
    definition.actionMeta,
    definition.inputSchemas,
  ]);
}
