// The tokens of the in-memory view in columns of typed arrays, indexed by id and by digest, kept in the admin list's order.
import type { CachedToken } from './cached-token';
import type { RateLimit, TokenMetadata } from '../types';
import { NO_SCOPES } from './token-grants';
import { PackedTexts } from './packed-texts';
import { EntryIndex, finish, textHash } from './entry-index';
import { RecentViews } from './recent-views';
import { resized } from './typed-columns';

/** Position of a keyset cursor: the last item of the previous page. */
export interface OrderPosition {
  at: number;
  id: string;
}

/** What few tokens carry: held in one object per such token, none for the rest. */
interface Extras {
  rateLimit: RateLimit | null;
  scopes: readonly string[];
  metadata: TokenMetadata | null;
  previousSecretDigest: string | null;
  previousSecretExpiresAt: number | null;
  /** The previous secret's packed hash ('' when unusable) while its view exists; null when it has none. */
  previousHash: string | null;
  previousUnusable: boolean;
}

const ID_BYTES = 16;
const DIGEST_BYTES = 32;
const HASH_BYTES = 42;
/** Per slot in `times`: expiresAt, lastUsedAt, createdAt, lastModified; NaN for null. */
const TIME_FIELDS = 4;
const EXPIRES = 0;
const LAST_USED = 1;
const CREATED = 2;
const MODIFIED = 3;

const IN_USE = 1;
const DISABLED = 2;
const CONFIRMED = 4;
const UNUSABLE = 8;
const PREVIOUS_CONFIRMED = 16;
/** The id is kept as text in `oddIds` (not a lower-case UUID); the digest in `oddDigests` (not a 32-byte key). */
const ODD_ID = 32;
const ODD_DIGEST = 64;

/** Views handed out lately, so the same token's calls share one object: bounded, oldest first out. */
const MAX_CACHED_VIEWS = 4096;

const CANONICAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
/** Where each of an id's 16 bytes sits in its text (two hex digits each, hyphens between groups). */
const ID_BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

function hexValue(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/** A digest key (digestKey in domain/secrets.ts) that is 32 bytes, as every digest this package writes is. */
function isByteKey(key: string): boolean {
  if (key.length !== DIGEST_BYTES) return false;
  for (let i = 0; i < DIGEST_BYTES; i += 1) if (key.charCodeAt(i) > 255) return false;
  return true;
}

/** A 32-byte key's first four bytes: an HMAC's bits are uniform already. */
function byteKeyHash(key: string): number {
  return (key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16) | (key.charCodeAt(3) << 24)) >>> 0;
}

function digestHash(key: string): number {
  return isByteKey(key) ? byteKeyHash(key) : textHash(key);
}

/**
 * The tokens of the view, one slot each: ids, digests, hashes, times, flags, names and secret starts in typed
 * arrays, which the garbage collector never walks; only the few tokens with scopes, metadata, a rate limit or a
 * grace period hold objects. About 220 bytes a token instead of ~500 as one object each (`npm run bench:memory`).
 * A token is handed out as a CachedToken made on demand; the last few thousand are kept, so a token's calls share
 * one. A change to a token frees its slot and takes another, so a view handed out earlier stays as it was.
 */
export class TokenTable {
  private capacity = 0;
  private used = 0;
  private freeSlots: number[] = [];
  private stored = 0;
  private flags = new Uint8Array(0);
  private ids = new Uint8Array(0);
  private digests = new Uint8Array(0);
  private hashes = new Uint8Array(0);
  private times = new Float64Array(0);
  /** Per slot: createdBy and lastModifiedBy, as indexes into userNames. */
  private users = new Uint32Array(0);
  private names = new PackedTexts();
  private starts = new PackedTexts();
  private extras: (Extras | null)[] = [];
  private oddIds = new Map<number, string>();
  private oddDigests = new Map<number, string>();
  private userNames: string[] = [];
  private userIndex = new Map<string, number>();
  /** Entries: slot + 1. */
  private byId = new EntryIndex<string>(
    (entry) => this.idHashOf(entry - 1),
    (entry, id) => this.slotHasId(entry - 1, id),
  );
  /** Entries: 2 × slot + 1, plus 1 for a previous secret's. */
  private byDigest = new EntryIndex<string>(
    (entry) => this.digestHashOf(entry),
    (entry, key) => this.entryHasKey(entry, key),
  );
  /** Slots newest first (createdAt, then id, descending); unsorted until sortOrder() after a bulk load. */
  private order = new Int32Array(0);
  private sorted = false;
  /** By slot × 2 + 1, + 1 for a previous secret's view. */
  private readonly views = new RecentViews<CachedToken>(MAX_CACHED_VIEWS);
  /** The bytes of the id looked up last (idScratchOf), if it is a lower-case UUID. */
  private readonly idScratch = new Uint8Array(ID_BYTES);
  private idScratchOf: string | null = null;

  get size(): number {
    return this.stored;
  }

  /** The token stored under this id. */
  get(id: string): CachedToken | undefined {
    const slot = this.slotOf(id);
    return slot < 0 ? undefined : this.view(slot, 0);
  }

  /** The view a digest key finds: a token's current secret, or its previous one while the grace period runs. */
  findDigest(key: string): CachedToken | undefined {
    const entry = this.digestEntry(key);
    return entry === 0 ? undefined : this.view((entry - 1) >>> 1, (entry - 1) & 1);
  }

  /**
   * Stores a token (its view as catalog.ts makes it) under its id, replacing what was there. Its current digest is
   * indexed over any holder (a current secret always wins); its previous one's view, if given, only where the digest
   * is free, or held by another previous secret when `overPrevious`.
   */
  put(token: CachedToken, previous: CachedToken | null, overPrevious: boolean): void {
    this.delete(token.id);
    const slot = this.allocate();
    const canonicalId = CANONICAL_ID.test(token.id);
    const byteDigest = isByteKey(token.secretDigest);
    let flags = IN_USE;
    if (token.isDisabled) flags |= DISABLED;
    if (token.confirmed) flags |= CONFIRMED;
    if (token.unusableHash) flags |= UNUSABLE;
    if (previous?.confirmed) flags |= PREVIOUS_CONFIRMED;
    if (!canonicalId) flags |= ODD_ID;
    if (!byteDigest) flags |= ODD_DIGEST;
    this.flags[slot] = flags;
    if (canonicalId) this.writeId(token.id, this.ids, slot * ID_BYTES);
    else this.oddIds.set(slot, token.id);
    if (byteDigest)
      for (let i = 0; i < DIGEST_BYTES; i += 1)
        this.digests[slot * DIGEST_BYTES + i] = token.secretDigest.charCodeAt(i);
    else this.oddDigests.set(slot, token.secretDigest);
    if (!token.unusableHash)
      for (let i = 0; i < HASH_BYTES; i += 1) this.hashes[slot * HASH_BYTES + i] = token.packedHash.charCodeAt(i);
    const at = slot * TIME_FIELDS;
    this.times[at + EXPIRES] = token.expiresAt ?? NaN;
    this.times[at + LAST_USED] = token.lastUsedAt ?? NaN;
    this.times[at + CREATED] = token.createdAt;
    this.times[at + MODIFIED] = token.lastModified;
    this.users[slot * 2] = this.userNumber(token.createdBy);
    this.users[slot * 2 + 1] = this.userNumber(token.lastModifiedBy);
    this.names.set(slot, token.name);
    this.starts.set(slot, token.start);
    this.extras[slot] =
      token.rateLimit === null &&
      token.scopes.length === 0 &&
      token.metadata === null &&
      token.previousSecretDigest === null
        ? null
        : {
            rateLimit: token.rateLimit,
            scopes: token.scopes,
            metadata: token.metadata,
            previousSecretDigest: token.previousSecretDigest,
            previousSecretExpiresAt: token.previousSecretExpiresAt,
            previousHash: previous ? previous.packedHash : null,
            previousUnusable: previous?.unusableHash ?? false,
          };
    this.stored += 1;
    // delete() above left no entry with this id.
    this.byId.set(this.idHashOf(slot), slot + 1, token.id);
    const current = slot * 2 + 1;
    this.byDigest.set(digestHash(token.secretDigest), current, token.secretDigest);
    if (previous) {
      const key = previous.secretDigest;
      const holder = this.digestEntry(key);
      if (holder === 0 || (overPrevious && ((holder - 1) & 1) === 1))
        this.byDigest.set(digestHash(key), current + 1, key);
    }
    this.insertInOrder(slot);
  }

  /** Removes the token stored under this id, and its digests' entries where they are still its own. */
  delete(id: string): boolean {
    const slot = this.slotOf(id);
    if (slot < 0) return false;
    this.byId.delete(this.idHashOf(slot), slot + 1);
    const current = slot * 2 + 1;
    this.byDigest.delete(this.digestHashOf(current), current);
    const previousDigest = this.extras[slot]?.previousSecretDigest;
    if (previousDigest) this.byDigest.delete(digestHash(previousDigest), current + 1);
    this.removeFromOrder(slot);
    this.views.delete(current);
    this.views.delete(current + 1);
    this.flags[slot] = 0;
    this.names.clear(slot);
    this.starts.clear(slot);
    this.extras[slot] = null;
    this.oddIds.delete(slot);
    this.oddDigests.delete(slot);
    this.freeSlots.push(slot);
    this.stored -= 1;
    return true;
  }

  /** Records a use, if it is newer than the one known (in the column and in the views handed out). */
  noteUse(id: string, at: number): void {
    const slot = this.slotOf(id);
    if (slot < 0) return;
    const known = this.times[slot * TIME_FIELDS + LAST_USED]!;
    if (!Number.isNaN(known) && known >= at) return;
    this.times[slot * TIME_FIELDS + LAST_USED] = at;
    const current = this.views.get(slot * 2 + 1);
    if (current) current.lastUsedAt = at;
    const previous = this.views.get(slot * 2 + 2);
    if (previous) previous.lastUsedAt = at;
  }

  /**
   * Marks a view's secret as checked by bcrypt, if the token still holds that secret and hash (a rotation while
   * bcrypt ran leaves the new secret unchecked).
   */
  confirm(token: CachedToken): void {
    token.confirmed = true;
    const slot = this.slotOf(token.id);
    if (slot < 0) return;
    const current = this.views.get(slot * 2 + 1);
    if (!token.viaPreviousSecret) {
      if (this.digestOf(slot) !== token.secretDigest || this.hashOf(slot) !== token.packedHash) return;
      this.flags[slot] = this.flags[slot]! | CONFIRMED;
      if (current) current.confirmed = true;
      return;
    }
    const extras = this.extras[slot];
    if (extras?.previousSecretDigest !== token.secretDigest || extras.previousHash !== token.packedHash) return;
    this.flags[slot] = this.flags[slot]! | PREVIOUS_CONFIRMED;
    const previous = this.views.get(slot * 2 + 2);
    if (previous) previous.confirmed = true;
  }

  /** Up to `limit` matching tokens after the cursor position, plus whether more follow. `matches` must not keep its argument. */
  page(
    matches: (token: CachedToken) => boolean,
    limit: number,
    after?: OrderPosition,
  ): { items: CachedToken[]; hasMore: boolean } {
    this.sortOrder();
    const items: CachedToken[] = [];
    const probe = new ProbeView(this);
    for (let i = after ? this.firstAfter(after) : 0; i < this.stored; i += 1) {
      const slot = this.order[i]!;
      if (!matches(probe.at(slot))) continue;
      if (items.length === limit) return { items, hasMore: true };
      items.push(this.view(slot, 0));
    }
    return { items, hasMore: false };
  }

  countMatching(matches: (token: CachedToken) => boolean): number {
    const probe = new ProbeView(this);
    let count = 0;
    for (let i = 0; i < this.stored; i += 1) if (matches(probe.at(this.order[i]!))) count += 1;
    return count;
  }

  /** Sorts the order after a bulk load (puts append until then), and gives back the columns' unused room. */
  sortOrder(): void {
    if (this.sorted) return;
    this.order.subarray(0, this.stored).sort((a, b) => (this.precedes(a, b) ? -1 : 1));
    this.sorted = true;
    this.byId.fit(this.stored);
    this.byDigest.fit(this.byDigest.size);
    this.resize(this.used + (this.used >>> 6));
    // Arrays grown one item at a time keep up to half again their length as room: copies fit exactly.
    this.extras = this.extras.slice();
  }

  /** A slot's fields, one at a time (for ProbeView). */
  flagsOf(slot: number): number {
    return this.flags[slot]!;
  }

  timeOf(slot: number, field: number): number | null {
    const value = this.times[slot * TIME_FIELDS + field]!;
    return Number.isNaN(value) ? null : value;
  }

  nameOf(slot: number): string {
    return this.names.get(slot) ?? '';
  }

  startOf(slot: number): string | null {
    return this.starts.get(slot);
  }

  extrasOf(slot: number): Extras | null {
    return this.extras[slot] ?? null;
  }

  idOf(slot: number): string {
    if (this.flags[slot]! & ODD_ID) return this.oddIds.get(slot)!;
    const at = slot * ID_BYTES;
    const hex = (i: number): string => HEX_PAIRS[this.ids[at + i]!]!;
    return (
      hex(0) +
      hex(1) +
      hex(2) +
      hex(3) +
      '-' +
      hex(4) +
      hex(5) +
      '-' +
      hex(6) +
      hex(7) +
      '-' +
      hex(8) +
      hex(9) +
      '-' +
      hex(10) +
      hex(11) +
      hex(12) +
      hex(13) +
      hex(14) +
      hex(15)
    );
  }

  userName(slot: number, which: 0 | 1): string {
    return this.userNames[this.users[slot * 2 + which]!]!;
  }

  digestOf(slot: number): string {
    if (this.flags[slot]! & ODD_DIGEST) return this.oddDigests.get(slot)!;
    return Buffer.from(this.digests.buffer, this.digests.byteOffset + slot * DIGEST_BYTES, DIGEST_BYTES).toString(
      'latin1',
    );
  }

  hashOf(slot: number): string {
    if (this.flags[slot]! & UNUSABLE) return '';
    return Buffer.from(this.hashes.buffer, this.hashes.byteOffset + slot * HASH_BYTES, HASH_BYTES).toString('latin1');
  }

  /** A slot's view: its current secret's (via 0) or its previous one's (via 1); kept for later calls. */
  private view(slot: number, via: number): CachedToken {
    const key = slot * 2 + 1 + via;
    const cached = this.views.get(key);
    if (cached) return cached;
    const view = this.make(slot, via === 1);
    this.views.add(key, view);
    return view;
  }

  private make(slot: number, viaPrevious: boolean): CachedToken {
    const flags = this.flags[slot]!;
    const extras = this.extras[slot] ?? null;
    const expiresAt = this.timeOf(slot, EXPIRES);
    const graceEnd = extras?.previousSecretExpiresAt ?? null;
    // Same fields in the same order as catalog.ts's cachedToken, so that every view shares one shape.
    return {
      id: this.idOf(slot),
      name: this.nameOf(slot),
      isDisabled: (flags & DISABLED) !== 0,
      rateLimit: extras?.rateLimit ?? null,
      scopes: extras?.scopes ?? NO_SCOPES,
      metadata: extras?.metadata ?? null,
      start: this.startOf(slot),
      expiresAt: viaPrevious ? (expiresAt === null ? graceEnd : Math.min(expiresAt, graceEnd!)) : expiresAt,
      secretDigest: viaPrevious ? extras!.previousSecretDigest! : this.digestOf(slot),
      packedHash: viaPrevious ? extras!.previousHash! : this.hashOf(slot),
      previousSecretDigest: extras?.previousSecretDigest ?? null,
      previousSecretExpiresAt: graceEnd,
      lastUsedAt: this.timeOf(slot, LAST_USED),
      viaPreviousSecret: viaPrevious,
      createdBy: this.userName(slot, 0),
      createdAt: this.timeOf(slot, CREATED)!,
      lastModifiedBy: this.userName(slot, 1),
      lastModified: this.timeOf(slot, MODIFIED)!,
      confirmed: (flags & (viaPrevious ? PREVIOUS_CONFIRMED : CONFIRMED)) !== 0,
      unusableHash: viaPrevious ? extras!.previousUnusable : (flags & UNUSABLE) !== 0,
    };
  }

  private slotOf(id: string): number {
    let hash: number;
    if (CANONICAL_ID.test(id)) {
      this.writeId(id, this.idScratch, 0);
      this.idScratchOf = id;
      hash = this.byteIdHash(this.idScratch, 0);
    } else {
      hash = textHash(id);
    }
    return this.byId.find(hash, id) - 1;
  }

  /** Whether a slot holds this id; for a lower-case UUID, slotOf has put its bytes in the scratch. */
  private slotHasId(slot: number, id: string): boolean {
    if (this.flags[slot]! & ODD_ID) return this.oddIds.get(slot) === id;
    if (this.idScratchOf !== id) return false;
    const at = slot * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i += 1) if (this.ids[at + i] !== this.idScratch[i]) return false;
    return true;
  }

  private writeId(id: string, into: Uint8Array, at: number): void {
    for (let i = 0; i < ID_BYTES; i += 1) {
      const text = ID_BYTE_AT[i]!;
      into[at + i] = (hexValue(id.charCodeAt(text)) << 4) | hexValue(id.charCodeAt(text + 1));
    }
  }

  private byteIdHash(bytes: Uint8Array, at: number): number {
    let hash = 0x9e3779b9;
    for (let i = 0; i < ID_BYTES; i += 4) {
      const word = bytes[at + i]! | (bytes[at + i + 1]! << 8) | (bytes[at + i + 2]! << 16) | (bytes[at + i + 3]! << 24);
      hash = Math.imul(hash ^ word, 0x85ebca77);
      hash ^= hash >>> 13;
    }
    return finish(hash);
  }

  private idHashOf(slot: number): number {
    if (this.flags[slot]! & ODD_ID) return textHash(this.oddIds.get(slot)!);
    return this.byteIdHash(this.ids, slot * ID_BYTES);
  }

  private digestHashOf(entry: number): number {
    const slot = (entry - 1) >>> 1;
    if ((entry - 1) & 1) return digestHash(this.extras[slot]!.previousSecretDigest!);
    if (this.flags[slot]! & ODD_DIGEST) return textHash(this.oddDigests.get(slot)!);
    const at = slot * DIGEST_BYTES;
    const digests = this.digests;
    return (digests[at]! | (digests[at + 1]! << 8) | (digests[at + 2]! << 16) | (digests[at + 3]! << 24)) >>> 0;
  }

  private digestEntry(key: string): number {
    return this.byDigest.find(digestHash(key), key);
  }

  /** Whether an entry of the digest index stands for this key. */
  private entryHasKey(entry: number, key: string): boolean {
    const slot = (entry - 1) >>> 1;
    if ((entry - 1) & 1) return this.extras[slot]!.previousSecretDigest === key;
    if (this.flags[slot]! & ODD_DIGEST) return this.oddDigests.get(slot) === key;
    if (key.length !== DIGEST_BYTES) return false;
    const at = slot * DIGEST_BYTES;
    for (let i = 0; i < DIGEST_BYTES; i += 1) if (this.digests[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private userNumber(name: string): number {
    let number = this.userIndex.get(name);
    if (number === undefined) {
      number = this.userNames.length;
      this.userNames.push(name);
      this.userIndex.set(name, number);
    }
    return number;
  }

  private allocate(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (this.used === this.capacity) this.resize(Math.max(64, Math.ceil(this.capacity * 1.5)));
    return this.used++;
  }

  /** Moves the columns to arrays of `capacity` slots (never fewer than are used). */
  private resize(capacity: number): void {
    capacity = Math.max(capacity, this.used);
    if (capacity === this.capacity) return;
    this.flags = resized(this.flags, capacity);
    this.ids = resized(this.ids, capacity * ID_BYTES);
    this.digests = resized(this.digests, capacity * DIGEST_BYTES);
    this.hashes = resized(this.hashes, capacity * HASH_BYTES);
    this.times = resized(this.times, capacity * TIME_FIELDS);
    this.users = resized(this.users, capacity * 2);
    this.order = resized(this.order, capacity);
    this.names.resize(capacity);
    this.starts.resize(capacity);
    this.capacity = capacity;
  }

  /** True when slot a comes before slot b in (createdAt descending, id descending) order, the stored list's. */
  private precedes(a: number, b: number): boolean {
    const atA = this.times[a * TIME_FIELDS + CREATED]!;
    const atB = this.times[b * TIME_FIELDS + CREATED]!;
    if (atA !== atB) return atA > atB;
    if ((this.flags[a]! | this.flags[b]!) & ODD_ID) return this.idOf(a) > this.idOf(b);
    // Lower-case hex in fixed places: the bytes sort as the text does.
    for (let i = 0; i < ID_BYTES; i += 1) {
      const byteA = this.ids[a * ID_BYTES + i]!;
      const byteB = this.ids[b * ID_BYTES + i]!;
      if (byteA !== byteB) return byteA > byteB;
    }
    return false;
  }

  /** True when the cursor position comes before the slot's. */
  private positionPrecedes(position: OrderPosition, slot: number): boolean {
    const at = this.times[slot * TIME_FIELDS + CREATED]!;
    return position.at !== at ? position.at > at : position.id > this.idOf(slot);
  }

  /** Index of the first slot in the order that comes after the cursor position (binary search). */
  private firstAfter(position: OrderPosition): number {
    let low = 0;
    let high = this.stored;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.positionPrecedes(position, this.order[middle]!)) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private insertInOrder(slot: number): void {
    // count already includes this slot; the order holds count - 1 before it.
    const length = this.stored - 1;
    let index = length;
    if (this.sorted) {
      let low = 0;
      let high = length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (this.precedes(slot, this.order[middle]!)) high = middle;
        else low = middle + 1;
      }
      index = low;
      this.order.copyWithin(index + 1, index, length);
    }
    this.order[index] = slot;
  }

  private removeFromOrder(slot: number): void {
    // count still includes this slot.
    let index = -1;
    if (this.sorted) {
      let low = 0;
      let high = this.stored;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const other = this.order[middle]!;
        if (other !== slot && this.precedes(other, slot)) low = middle + 1;
        else high = middle;
      }
      if (this.order[low] === slot) index = low;
    }
    if (index < 0) index = this.order.subarray(0, this.stored).indexOf(slot);
    this.order.copyWithin(index, index + 1, this.stored);
  }
}

/**
 * One reused CachedToken over whichever slot a walk is at, so that filtering 100,000 tokens makes no 100,000
 * objects: its fields are read from the columns when asked for.
 */
class ProbeView implements CachedToken {
  private slot = 0;

  constructor(private readonly table: TokenTable) {}

  at(slot: number): this {
    this.slot = slot;
    return this;
  }

  private time(field: number): number | null {
    return this.table.timeOf(this.slot, field);
  }

  get id(): string {
    return this.table.idOf(this.slot);
  }
  get name(): string {
    return this.table.nameOf(this.slot);
  }
  get isDisabled(): boolean {
    return (this.table.flagsOf(this.slot) & DISABLED) !== 0;
  }
  get rateLimit(): RateLimit | null {
    return this.table.extrasOf(this.slot)?.rateLimit ?? null;
  }
  get scopes(): readonly string[] {
    return this.table.extrasOf(this.slot)?.scopes ?? NO_SCOPES;
  }
  get metadata(): TokenMetadata | null {
    return this.table.extrasOf(this.slot)?.metadata ?? null;
  }
  get start(): string | null {
    return this.table.startOf(this.slot);
  }
  get expiresAt(): number | null {
    return this.time(EXPIRES);
  }
  get secretDigest(): string {
    return this.table.digestOf(this.slot);
  }
  get packedHash(): string {
    return this.table.hashOf(this.slot);
  }
  get previousSecretDigest(): string | null {
    return this.table.extrasOf(this.slot)?.previousSecretDigest ?? null;
  }
  get previousSecretExpiresAt(): number | null {
    return this.table.extrasOf(this.slot)?.previousSecretExpiresAt ?? null;
  }
  get lastUsedAt(): number | null {
    return this.time(LAST_USED);
  }
  get viaPreviousSecret(): boolean {
    return false;
  }
  get createdBy(): string {
    return this.table.userName(this.slot, 0);
  }
  get createdAt(): number {
    return this.time(CREATED)!;
  }
  get lastModifiedBy(): string {
    return this.table.userName(this.slot, 1);
  }
  get lastModified(): number {
    return this.time(MODIFIED)!;
  }
  get confirmed(): boolean {
    return (this.table.flagsOf(this.slot) & CONFIRMED) !== 0;
  }
  get unusableHash(): boolean {
    return (this.table.flagsOf(this.slot) & UNUSABLE) !== 0;
  }
}
