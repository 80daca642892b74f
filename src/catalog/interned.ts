// One copy of each value that many objects of the in-memory view repeat (the user names that created and changed tokens).

/**
 * Values by a key that identifies them: the first one seen for a key is handed out for every later equal one, so a
 * view of 100,000 objects holds each distinct value once. Bounded: past `limit` keys, values are handed back as given.
 */
export class Interned<T> {
  private readonly values = new Map<string, T>();

  constructor(private readonly limit: number) {}

  of(key: string, value: T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    if (this.values.size < this.limit) this.values.set(key, value);
    return value;
  }
}
