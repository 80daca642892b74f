// One instance's updates of token documents, one at a time: an admin's write and the last-use flush never overlap.
//
// FerretDB updates a document by reading it, changing it in Go and writing the whole document back, with no lock
// between (docs/operations.md, portability): two overlapping updates of one token undo each other. An end of a
// grace period written while the last-use flush of that token ran was undone in the database, and the revoked
// secret worked again after the next poll re-read the token. MongoDB updates a document atomically; the gate costs
// it only the wait for the other write.

export class WriteGate {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `write` once every write passed in before it has settled; its outcome is returned as it is. */
  run<T>(write: () => Promise<T>): Promise<T> {
    const result = this.tail.then(write, write);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
