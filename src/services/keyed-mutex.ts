// Serialises async work per key within this process (writes to one object run one at a time).

/**
 * FerretDB v1 applies an update as read, modify in Go, write back, with no lock in between, so two concurrent
 * `$set`s of different fields of one document can lose one of them. Serialising the writes to one object in
 * this process closes that race for a single instance; on MongoDB every update is atomic per document anyway.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      // Drop the entry once nothing queued behind us, so the map stays as small as the set of busy keys.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}
