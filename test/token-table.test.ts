// The view's token table against a plain reference (Maps and a sorted array, as the view held tokens before), over
// random puts, deletions, uses and confirmations, with ids and digests chosen to collide in its hash indexes.
import fc from 'fast-check';
import type { CachedToken } from '../src/catalog/catalog';
import { NO_SCOPES } from '../src/catalog/token-grants';
import { PackedTexts } from '../src/catalog/packed-texts';
import { TokenTable, type OrderPosition } from '../src/catalog/token-table';
import { propertySeed } from './helpers/seed';

/** Three lower-case UUIDs (two sharing their first bytes), one upper-case and one that is no UUID: both kept as text. */
const IDS = [
  '00000000-0000-4000-8000-000000000001',
  '00000000-0000-4000-8000-000000000002',
  'ffffffff-ffff-4fff-bfff-ffffffffffff',
  'ABCDEF01-0000-4000-8000-000000000003',
  'legacy-token',
];
/** Digest keys: 32 bytes (the first three share their first four bytes, so they land on one index slot), and one text key. */
const byteKey = (tail: string): string => 'ABCD' + tail.padEnd(28, '\u00ff');
const KEYS = [byteKey('a'), byteKey('b'), byteKey('c'), 'Zyxw' + 'q'.repeat(28), '\u0100written-by-hand'];
const HASH = 'h'.repeat(42);

interface Put {
  kind: 'put';
  id: string;
  at: number;
  key: string;
  previousKey: string | null;
  withPreviousView: boolean;
  unusable: boolean;
  overPrevious: boolean;
  lastUsedAt: number | null;
  scoped: boolean;
}
type Step =
  Put | { kind: 'delete'; id: string } | { kind: 'use'; id: string; at: number } | { kind: 'confirm'; key: string };

function tokenOf(step: Put): { token: CachedToken; previous: CachedToken | null } {
  const token: CachedToken = {
    id: step.id,
    name: `name of ${step.id}`,
    isDisabled: step.at % 2 === 0,
    rateLimit: step.scoped ? { limit: 5, windowSeconds: 60 } : null,
    scopes: step.scoped ? Object.freeze(['read']) : NO_SCOPES,
    metadata: step.scoped ? { team: 'a' } : null,
    start: step.at % 3 === 0 ? null : 'udapi_abc',
    expiresAt: step.at % 4 === 0 ? null : 1_000_000 + step.at,
    secretDigest: step.key,
    packedHash: step.unusable ? '' : HASH,
    previousSecretDigest: step.previousKey,
    previousSecretExpiresAt: step.previousKey === null ? null : 2_000_000,
    lastUsedAt: step.lastUsedAt,
    viaPreviousSecret: false,
    createdBy: step.at % 2 === 0 ? 'alice' : 'bob',
    createdAt: step.at,
    lastModifiedBy: 'carol',
    lastModified: step.at + 1,
    confirmed: false,
    unusableHash: step.unusable,
  };
  const previous =
    step.previousKey !== null && step.withPreviousView
      ? {
          ...token,
          secretDigest: step.previousKey,
          packedHash: 'p'.repeat(42),
          expiresAt: token.expiresAt === null ? 2_000_000 : Math.min(token.expiresAt, 2_000_000),
          viaPreviousSecret: true,
          unusableHash: false,
        }
      : null;
  return { token, previous };
}

/** A token with no grace period, scopes or uses. */
function plainToken(id: string, at: number, key: string): CachedToken {
  const step: Put = {
    kind: 'put',
    id,
    at,
    key,
    previousKey: null,
    withPreviousView: false,
    unusable: false,
    overPrevious: false,
    lastUsedAt: null,
    scoped: false,
  };
  return tokenOf(step).token;
}

/** The view as it was: a Map by id, a Map by digest, and the order sorted on demand. */
class Reference {
  byId = new Map<string, CachedToken>();
  byDigest = new Map<string, CachedToken>();

  put(token: CachedToken, previous: CachedToken | null, overPrevious: boolean): void {
    this.delete(token.id);
    this.byId.set(token.id, token);
    this.byDigest.set(token.secretDigest, token);
    const holder = previous && this.byDigest.get(previous.secretDigest);
    if (previous && (!holder || (overPrevious && holder.viaPreviousSecret)))
      this.byDigest.set(previous.secretDigest, previous);
  }

  delete(id: string): void {
    const before = this.byId.get(id);
    if (!before) return;
    for (const digest of [before.secretDigest, before.previousSecretDigest])
      if (digest !== null && this.byDigest.get(digest)?.id === id) this.byDigest.delete(digest);
    this.byId.delete(id);
  }

  ordered(): CachedToken[] {
    return [...this.byId.values()].sort((a, b) =>
      a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.id < b.id ? 1 : -1,
    );
  }
}

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      id: fc.constantFrom(...IDS),
      at: fc.integer({ min: 0, max: 3 }),
      key: fc.constantFrom(...KEYS),
      previousKey: fc.option(fc.constantFrom(...KEYS), { nil: null }),
      withPreviousView: fc.boolean(),
      unusable: fc.boolean(),
      overPrevious: fc.boolean(),
      lastUsedAt: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
      scoped: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom(...IDS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('use' as const),
      id: fc.constantFrom(...IDS),
      at: fc.integer({ min: 0, max: 9 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('confirm' as const), key: fc.constantFrom(...KEYS) }) },
);

/** The fields a view is judged by (all of them but the flags each side keeps its own way). */
function shown(token: CachedToken | undefined): unknown {
  if (!token) return undefined;
  return { ...token, confirmed: undefined };
}

function pagesOf(table: TokenTable, limit: number): string[] {
  const seen: string[] = [];
  let after: OrderPosition | undefined;
  for (;;) {
    const page = table.page(() => true, limit, after);
    seen.push(...page.items.map((token) => token.id));
    if (!page.hasMore) return seen;
    const last = page.items[page.items.length - 1]!;
    after = { at: last.createdAt, id: last.id };
  }
}

describe('TokenTable', () => {
  it('finds, orders and pages tokens exactly as Maps and a sorted array do', () => {
    const seed = propertySeed('token table property');
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        (steps, bulk, limit) => {
          const table = new TokenTable();
          const reference = new Reference();
          // A bulk load leaves the order unsorted until sortOrder(); the rest keep it sorted from the start.
          if (!bulk) table.sortOrder();
          for (const [index, current] of steps.entries()) {
            if (current.kind === 'put') {
              const { token, previous } = tokenOf(current);
              table.put({ ...token }, previous && { ...previous }, current.overPrevious);
              reference.put(token, previous, current.overPrevious);
            } else if (current.kind === 'delete') {
              expect(table.delete(current.id)).toBe(reference.byId.has(current.id));
              reference.delete(current.id);
            } else if (current.kind === 'use') {
              table.noteUse(current.id, current.at);
              const token = reference.byId.get(current.id);
              if (token && (token.lastUsedAt === null || token.lastUsedAt < current.at)) {
                token.lastUsedAt = current.at;
                const previous = token.previousSecretDigest && reference.byDigest.get(token.previousSecretDigest);
                if (previous && previous.id === token.id) previous.lastUsedAt = current.at;
              }
            } else {
              const found = table.findDigest(current.key);
              if (found) table.confirm(found);
              expect(found && table.findDigest(current.key)?.confirmed).toBe(found ? true : undefined);
            }
            if (bulk && index === Math.floor(steps.length / 2)) table.sortOrder();
            for (const id of IDS) expect(shown(table.get(id))).toEqual(shown(reference.byId.get(id)));
            for (const key of KEYS) expect(shown(table.findDigest(key))).toEqual(shown(reference.byDigest.get(key)));
            expect(table.size).toBe(reference.byId.size);
          }
          expect(pagesOf(table, limit)).toEqual(reference.ordered().map((token) => token.id));
          // The walk's reused view reads every field from the columns as the made view holds it.
          table.countMatching((probe) => {
            const made = table.get(probe.id)!;
            const read = Object.fromEntries(
              Object.keys(made).map((field) => [field, probe[field as keyof CachedToken]]),
            );
            expect(read).toEqual({ ...made });
            return true;
          });
          expect(table.countMatching((token) => token.isDisabled)).toBe(
            [...reference.byId.values()].filter((token) => token.isDisabled).length,
          );
        },
      ),
      { numRuns: 1500, seed },
    );
  });

  it("keeps the last 4,096 views handed out, oldest out first, and a deleted token's view goes with it", () => {
    const table = new TokenTable();
    const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const keyOf = (i: number) => String(i).padStart(32, 'k');
    for (let i = 0; i <= 4096; i += 1) table.put(plainToken(idOf(i), i, keyOf(i)), null, false);
    const first = table.get(idOf(0))!;
    const views = Array.from({ length: 4096 }, (_, i) => table.get(idOf(i + 1))!);
    expect(table.get(idOf(0))).not.toBe(first);
    expect(table.get(idOf(0))).toEqual(first);
    expect(table.findDigest(keyOf(4096))).toBe(views[4095]);
    table.delete(idOf(4096));
    table.put(plainToken(idOf(5000), 5000, keyOf(5000)), null, false);
    expect([table.get(idOf(4096)), table.findDigest(keyOf(4096))]).toEqual([undefined, undefined]);
    expect(table.findDigest(keyOf(5000))?.id).toBe(idOf(5000));
  });

  it('holds thousands of tokens through growth, deletions and reuse of their slots, and finds each by id and digest', () => {
    const seed = propertySeed('token table growth', 20261202);
    let random = seed;
    const next = (): number => (random = (Math.imul(random, 1103515245) + 12345) >>> 0);
    const uuid = (): string =>
      Array.from({ length: 32 }, () => (next() >>> 28).toString(16))
        .join('')
        .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const key = (): string => String.fromCharCode(...Array.from({ length: 32 }, () => next() >>> 24));
    const table = new TokenTable();
    const reference = new Map<string, { key: string; at: number }>();
    for (let round = 0; round < 20_000; round += 1) {
      const ids = [...reference.keys()];
      if (ids.length > 0 && next() % 3 === 0) {
        const id = ids[next() % ids.length]!;
        expect(table.delete(id)).toBe(true);
        reference.delete(id);
        continue;
      }
      const id = uuid();
      const entry = { key: key(), at: next() % 1000 };
      table.put(plainToken(id, entry.at, entry.key), null, false);
      reference.set(id, entry);
    }
    expect(table.size).toBe(reference.size);
    for (const [id, { key: digest, at }] of reference) {
      expect(table.get(id)?.createdAt).toBe(at);
      expect(table.findDigest(digest)?.id).toBe(id);
    }
    expect(table.get(uuid())).toBeUndefined();
    expect(table.findDigest(key())).toBeUndefined();
    const ordered = [...reference].sort(([idA, a], [idB, b]) => (a.at !== b.at ? b.at - a.at : idA < idB ? 1 : -1));
    expect(pagesOf(table, 997)).toEqual(ordered.map(([id]) => id));
  });

  it('confirms a secret only while the token still holds it: a rotation while bcrypt ran leaves the new secret unconfirmed', () => {
    const table = new TokenTable();
    const put = (key: string): void => table.put(plainToken(IDS[0]!, 1, key), null, false);
    put(KEYS[0]!);
    const checked = table.findDigest(KEYS[0]!)!;
    put(KEYS[1]!);
    table.confirm(checked);
    expect(checked.confirmed).toBe(true);
    expect(table.findDigest(KEYS[1]!)!.confirmed).toBe(false);
    expect(table.findDigest(KEYS[0]!)).toBeUndefined();
  });
});

describe('PackedTexts', () => {
  // Names and secret starts live in one arena: texts set over others and cleared leave garbage, compacted as it grows.
  it('gives back every text as it was set, through growth, overwrites, clears and compaction', () => {
    const seed = propertySeed('packed texts property');
    const text = fc.oneof(
      fc.constant(null),
      fc.constant(''),
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'binary', minLength: 50, maxLength: 300 }),
      // Lone surrogates and the largest code unit: kept as code units, not re-encoded.
      fc.constantFrom('\ud800', 'a\udfffb', '\uffff'),
    );
    const op = fc.record({ slot: fc.nat({ max: 63 }), text, clear: fc.boolean() });
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: 400 }), (ops) => {
        const texts = new PackedTexts();
        texts.resize(32);
        const reference = new Map<number, string | null>();
        for (const { slot, text: value, clear } of ops) {
          // Slots grow as the table's do; a slot never set holds null.
          if (slot >= 32) texts.resize(64);
          if (clear) {
            texts.clear(slot);
            reference.set(slot, null);
          } else {
            texts.set(slot, value);
            reference.set(slot, value);
          }
        }
        const slots = ops.some((o) => o.slot >= 32) ? 64 : 32;
        for (let slot = 0; slot < slots; slot += 1) expect(texts.get(slot)).toBe(reference.get(slot) ?? null);
      }),
      // A failure is reported as found: shrinking 400-step runs takes minutes.
      { numRuns: 300, seed, endOnFailure: true },
    );
  });
});
