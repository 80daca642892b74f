// The objects a table of the view made lately, by slot number, kept so that calls of the same one share an object.

/**
 * Up to `limit` views by small non-negative key, the oldest dropped first. A ring of keys, not a Map's insertion
 * order: dropping a Map's oldest entry walks past the holes its deletions left, over a microsecond each time in a
 * measurement, on every miss once the Map is full. A key deleted and set again may have two places in the ring; the
 * older one then only drops the newer view early.
 */
export class RecentViews<T> {
  private views: (T | undefined)[] = [];
  /** Keys + 1 (0: none), oldest first from `at`. */
  private readonly ring: Int32Array;
  private at = 0;

  constructor(limit: number) {
    this.ring = new Int32Array(limit);
  }

  get(key: number): T | undefined {
    return this.views[key];
  }

  /** Keeps `view` under a key that holds none, dropping the oldest view when `limit` are kept. */
  add(key: number, view: T): void {
    const dropped = this.ring[this.at]!;
    if (dropped !== 0) this.views[dropped - 1] = undefined;
    this.ring[this.at] = key + 1;
    this.at = (this.at + 1) % this.ring.length;
    this.views[key] = view;
  }

  delete(key: number): void {
    this.views[key] = undefined;
  }
}
