// The in-memory tokens in the admin list's order (newest first), so a filtered page costs no database scan.

/** What ordering and filtering need of a token. */
export interface OrderedToken {
  id: string;
  createdAt: number;
}

/** Position of a keyset cursor: the last item of the previous page. */
export interface OrderPosition {
  at: number;
  id: string;
}

/** True when a comes before b in (createdAt descending, id descending) order, the order of the stored list. */
function before(a: OrderPosition, b: OrderPosition): boolean {
  return a.at !== b.at ? a.at > b.at : a.id > b.id;
}

export class TokenOrder<T extends OrderedToken> {
  private items: T[] = [];

  /** Replaces everything at once (after a full load). */
  reset(tokens: Iterable<T>): void {
    this.items = [...tokens].sort((a, b) => (before(position(a), position(b)) ? -1 : 1));
  }

  insert(token: T): void {
    this.items.splice(this.firstAfter(position(token), true), 0, token);
  }

  remove(token: T): void {
    const index = this.firstAfter(position(token), true);
    if (this.items[index] === token) this.items.splice(index, 1);
    else {
      // Not where its fields say (they changed in place): find it the slow way rather than leave it behind.
      const found = this.items.indexOf(token);
      if (found >= 0) this.items.splice(found, 1);
    }
  }

  /** Up to `limit` matching tokens after the cursor position, plus whether more follow. */
  page(matches: (token: T) => boolean, limit: number, after?: OrderPosition): { items: T[]; hasMore: boolean } {
    const items: T[] = [];
    for (let i = after ? this.firstAfter(after, false) : 0; i < this.items.length; i += 1) {
      const token = this.items[i]!;
      if (!matches(token)) continue;
      if (items.length === limit) return { items, hasMore: true };
      items.push(token);
    }
    return { items, hasMore: false };
  }

  count(matches: (token: T) => boolean): number {
    let count = 0;
    for (const token of this.items) if (matches(token)) count += 1;
    return count;
  }

  /**
   * Index of the first item ordered after `at` (binary search). With `inclusive`, an item at exactly that
   * position counts as "after", which finds both where to insert and where an existing item sits.
   */
  private firstAfter(at: OrderPosition, inclusive: boolean): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const item = position(this.items[middle]!);
      const isAfter = inclusive ? !before(item, at) : before(at, item);
      if (isAfter) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

function position(token: OrderedToken): OrderPosition {
  return { at: token.createdAt, id: token.id };
}
