// The view's lookup key of a presented secret: HMAC-SHA-256 under the pepper, built from two one-shot hashes.
import { createHmac, hash } from 'node:crypto';
import { SECRET_MAX_LENGTH } from '../domain/secrets';

/** SHA-256's block size: the HMAC key is padded to it (RFC 2104). */
const BLOCK = 64;
const INNER_PAD = 0x36;
const OUTER_PAD = 0x5c;

/**
 * HMAC(pepper, secret) as RFC 2104 defines it, H((K ^ opad) || H((K ^ ipad) || secret)), computed with
 * `crypto.hash` on two buffers made once. `createHmac` per request builds an HMAC object with a native handle that
 * only the garbage collector releases: a CPU profile of requireToken() under HTTP load put 14 µs of ~400 per request
 * there, and more in the collector. The result is byte for byte `createHmac('sha256', pepper).update(secret,
 * 'utf8').digest('binary')` (a test compares them over random peppers and secrets).
 */
export class LookupDigest {
  /** K ^ ipad, then room for the longest secret the endpoint looks up. */
  private readonly inner: Buffer;
  /** K ^ opad, then the inner hash. */
  private readonly outer: Buffer;
  /** Views of `inner` by length, made once each: secrets of one deployment mostly share a length or two. */
  private readonly views: Buffer[] = [];

  constructor(private readonly pepper: Buffer) {
    // A key longer than a block is hashed first (RFC 2104, 2.); a shorter one is padded with zeros.
    const key = pepper.length > BLOCK ? hash('sha256', pepper, 'buffer') : pepper;
    this.inner = Buffer.alloc(BLOCK + SECRET_MAX_LENGTH, 0);
    this.outer = Buffer.alloc(BLOCK + 32, 0);
    for (let i = 0; i < BLOCK; i += 1) {
      const byte = i < key.length ? key[i]! : 0;
      this.inner[i] = byte ^ INNER_PAD;
      this.outer[i] = byte ^ OUTER_PAD;
    }
  }

  /** The 32 bytes of the digest as a one-byte (latin1) string: the key the view indexes tokens by. */
  keyOf(secret: string): string {
    // A secret whose bytes could overflow the buffer takes the ordinary path: cut short, it would hash as a shorter
    // secret. (The endpoint looks up only secrets of the allowed length and alphabet, one byte per character; UTF-8
    // takes at most 3 bytes per UTF-16 unit.)
    if (secret.length * 3 > SECRET_MAX_LENGTH && Buffer.byteLength(secret, 'utf8') > SECRET_MAX_LENGTH)
      return createHmac('sha256', this.pepper).update(secret, 'utf8').digest('binary');
    const length = BLOCK + this.inner.write(secret, BLOCK, 'utf8');
    const innerHash = hash('sha256', (this.views[length] ??= this.inner.subarray(0, length)), 'binary');
    // The secret does not stay in a long-lived buffer after its request.
    this.inner.fill(0, BLOCK, length);
    // As text rather than a Buffer: a short string is cheaper to allocate and collect than a new ArrayBuffer.
    this.outer.write(innerHash, BLOCK, 'latin1');
    return hash('sha256', this.outer, 'binary');
  }
}
