// The token a host route sees: id, name, scopes and metadata of the view's token, built once per stored state.
import type { CachedToken } from '../catalog/catalog';
import type { VerifiedToken } from '../types';

/** A changed token is a new CachedToken, so this never shows an old state, and lets go of it with the view. */
const BUILT = new WeakMap<CachedToken, VerifiedToken>();

/** Frozen, so that one host route cannot change what the next one sees. */
export function verifiedToken(token: CachedToken): VerifiedToken {
  let verified = BUILT.get(token);
  if (!verified) {
    verified = Object.freeze({ id: token.id, name: token.name, scopes: token.scopes, metadata: token.metadata });
    BUILT.set(token, verified);
  }
  return verified;
}
