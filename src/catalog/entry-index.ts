// An allocation-free hash index of int32 entries for the view's typed-array tables, and the hashes they file keys under.

/** A well-mixed 32-bit hash (of a key whose bits may not be: ids chosen by hand, text digests). */
export function finish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x7feb352d);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x846ca68b);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** FNV-1a over a text's UTF-16 code units, finished; `salt` files the same text apart under different owners. */
export function textHash(text: string, salt = 0): number {
  let hash = 0x811c9dc5 ^ Math.imul(salt, 0x9e3779b1);
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return finish(hash);
}

/**
 * An open-addressing hash table of positive int32 entries (linear probing, backward-shift deletion), sized to stay at
 * most half full. It holds no keys: the owner hashes an entry's key and tells whether an entry has a key, so a
 * lookup allocates nothing.
 */
export class EntryIndex<K> {
  private table = new Int32Array(16);
  private count = 0;

  constructor(
    private readonly hashOfEntry: (entry: number) => number,
    private readonly hasKey: (entry: number, key: K) => boolean,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The entry that has `key` (whose hash is `hash`), or 0. */
  find(hash: number, key: K): number {
    const mask = this.table.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = this.table[at]!;
      if (entry === 0 || this.hasKey(entry, key)) return entry;
    }
  }

  /** Puts `entry` in place of the one that has `key`, or adds it. */
  set(hash: number, entry: number, key: K): void {
    const mask = this.table.length - 1;
    let at = hash & mask;
    for (; this.table[at] !== 0; at = (at + 1) & mask) {
      if (this.hasKey(this.table[at]!, key)) {
        this.table[at] = entry;
        return;
      }
    }
    this.table[at] = entry;
    this.count += 1;
    if (this.count * 2 > this.table.length) this.resize(this.table.length * 2);
  }

  /** Removes `entry`, filed under `hash`; false when it is not there. */
  delete(hash: number, entry: number): boolean {
    const mask = this.table.length - 1;
    let at = hash & mask;
    for (; ; at = (at + 1) & mask) {
      const candidate = this.table[at]!;
      if (candidate === 0) return false;
      if (candidate === entry) break;
    }
    // Backward shift: move later entries of the run back over the gap, so that no probe stops early.
    let gap = at;
    for (let next = (gap + 1) & mask; this.table[next] !== 0; next = (next + 1) & mask) {
      const home = this.hashOfEntry(this.table[next]!) & mask;
      const movable = gap <= next ? home <= gap || home > next : home <= gap && home > next;
      if (movable) {
        this.table[gap] = this.table[next]!;
        gap = next;
      }
    }
    this.table[gap] = 0;
    this.count -= 1;
    return true;
  }

  /** The smallest table that holds `entries` at most half full. */
  fit(entries: number): void {
    let length = 16;
    while (length < entries * 2) length *= 2;
    if (length !== this.table.length) this.resize(length);
  }

  private resize(length: number): void {
    const old = this.table;
    this.table = new Int32Array(length);
    const mask = length - 1;
    for (const entry of old) {
      if (entry === 0) continue;
      let at = this.hashOfEntry(entry) & mask;
      while (this.table[at] !== 0) at = (at + 1) & mask;
      this.table[at] = entry;
    }
  }
}
