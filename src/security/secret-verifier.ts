// Finds the token of a presented secret by digest (no bcrypt) and confirms it with bcrypt once per instance.
import type { Catalog, CachedToken } from '../catalog/catalog';
import type { Logger } from '../types';
import type { BcryptPool } from './bcrypt-pool';
import { bcryptHashProblem, unpackBcryptHash } from '../domain/bcrypt-hash';
import { hasBrokenChecksum, secretProblem } from '../domain/secrets';
import { LookupDigest } from './lookup-digest';
import type { VerifiedSecrets } from './verified-secrets';

export class SecretVerifier {
  private readonly digest: LookupDigest;
  /** Comparisons running now, by (digest, hash): at most one per token secret. */
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly catalog: Catalog,
    pepper: Buffer,
    private readonly bcrypt: BcryptPool,
    private readonly verified: VerifiedSecrets,
    private readonly log: Logger,
    /** The `secretPrefix` option: a secret of the generated shape with a wrong checksum is refused unlooked-up. */
    private readonly secretPrefix: string | null = null,
  ) {
    this.digest = new LookupDigest(pepper);
  }

  /**
   * The token whose digest matches, or undefined. No bcrypt: an unknown secret costs one HMAC and one map
   * lookup. The digest is keyed by the pepper, so a match already proves knowledge of the secret. A secret of the
   * generated shape whose checksum is wrong costs not even that: no stored secret has that shape (the services
   * refuse one), and the refusal is the unknown secret's, counted alike; the checksum is computed from what the
   * caller sent alone, so how soon it is refused tells the caller nothing they did not know.
   */
  lookup(secret: string): CachedToken | undefined {
    if (secretProblem(secret) !== null) return undefined;
    if (this.secretPrefix !== null && hasBrokenChecksum(secret, this.secretPrefix)) return undefined;
    return this.catalog.tokenByDigest(this.digest.keyOf(secret));
  }

  /** Whether this instance already confirmed this token's current secret (then confirm() costs nothing). */
  isConfirmed(token: CachedToken): boolean {
    // The flag lives on this view of the token, which any change replaces; the LRU outlives full reloads.
    if (token.confirmed) return true;
    if (!this.verified.has(token.secretDigest, token.packedHash)) return false;
    this.catalog.confirm(token);
    return true;
  }

  /**
   * Defence in depth against a tampered document: the bcrypt hash must match too. Runs bcrypt only the
   * first time this instance sees this (digest, hash) pair; the endpoint calls it only for requests that
   * would otherwise succeed, so refusals never pay for bcrypt and cannot be told apart by timing.
   */
  async confirm(secret: string, token: CachedToken): Promise<boolean> {
    if (this.isConfirmed(token)) return true;
    // The catalog never hands out a token with such a hash; this keeps bcrypt safe should that ever change.
    const hash = token.packedHash === '' ? null : unpackBcryptHash(token.packedHash);
    if (hash === null || bcryptHashProblem(hash) !== null) return false;
    // Single flight: calls that arrive while this pair is being checked wait for the same comparison. The secret
    // is the same for all of them, since the digest (keyed by the pepper) matched; 200 parallel first calls of one
    // new secret once kept the bcrypt pool busy for ~10 s.
    const key = `${token.secretDigest}\u0000${token.packedHash}`;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.compare(secret, token, hash).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    const confirmed = await pending;
    if (confirmed) this.catalog.confirm(token);
    return confirmed;
  }

  private async compare(secret: string, token: CachedToken, hash: string): Promise<boolean> {
    if (!(await this.bcrypt.compare(secret, hash))) {
      this.log.warn(
        { objectType: 'ApiToken', objectId: token.id },
        'A secret matched a token digest but not its bcrypt hash',
      );
      return false;
    }
    this.verified.add(token.secretDigest, token.packedHash);
    return true;
  }

  /** Both steps: the token of a secret, or null. */
  async verify(secret: string): Promise<CachedToken | null> {
    const token = this.lookup(secret);
    return token && (await this.confirm(secret, token)) ? token : null;
  }
}
