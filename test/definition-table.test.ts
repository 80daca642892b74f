// The view's definition table against a plain Map and the priority rule, over random puts and deletions, and at the
// bench's size (10,000 definitions) through growth, deletion and reuse of slots and trie nodes.
import fc from 'fast-check';
import type { CachedDefinition } from '../src/catalog/catalog';
import { DefinitionTable } from '../src/catalog/definition-table';
import { NO_SCOPES } from '../src/catalog/token-grants';
import { parseRoute } from '../src/domain/route-grammar';
import { routeByPriority } from './helpers/route-priority';
import { propertySeed } from './helpers/seed';

/** A definition's view as catalog.ts makes it from a stored document. */
function definitionOf(
  id: string,
  route: string,
  fields: Partial<Omit<CachedDefinition, 'id' | 'route' | 'segments'>> = {},
): CachedDefinition {
  const parsed = parseRoute(route, '/api/custom');
  if ('problem' in parsed) throw new Error(parsed.problem);
  return {
    id,
    route,
    segments: parsed.segments,
    allowedTokens: fields.allowedTokens ?? [],
    requiredScopes: fields.requiredScopes ?? NO_SCOPES,
    actionType: fields.actionType ?? 'handler',
    actionMeta: fields.actionMeta ?? { name: 'ping' },
    inputSchemas: fields.inputSchemas ?? null,
    lastModified: fields.lastModified ?? 1_700_000_000_000,
  };
}

/** Ids of several kinds: lower-case UUIDs, an upper-case one, one that is no UUID, one with characters past Latin-1. */
const IDS = [
  '00000000-0000-4000-8000-000000000001',
  '00000000-0000-4000-8000-000000000002',
  'ABCDEF01-0000-4000-8000-000000000003',
  'legacy-definition',
  'd\u00e9finition-\u{1F600}',
];

describe('DefinitionTable', () => {
  it('holds what a Map holds and matches as the priority rule says, through any puts and deletions', () => {
    const seed = propertySeed('definition table property');
    const routeText = fc
      .array(fc.constantFrom('a', 'B', 'c', '\u00c9t\u00e9', '{p}'), { minLength: 1, maxLength: 3 })
      .map((parts) => parts.map((part, i) => (part === '{p}' ? `{p${i}}` : part)).join('/'));
    const put = fc.record({
      kind: fc.constant('put' as const),
      id: fc.constantFrom(...IDS),
      route: routeText,
      allowedTokens: fc.uniqueArray(fc.constantFrom(...IDS), { maxLength: 3 }).map((ids) => ids.sort()),
      requiredScopes: fc.constantFrom<readonly string[]>(NO_SCOPES, ['read'], ['read', 'write']),
      actionType: fc.constantFrom('handler' as const, 'procedure' as const),
      actionMeta: fc.constantFrom({ name: 'ping' }, { name: 'orders', inputType: 'parameters' as const }),
      inputSchemas: fc.constantFrom(null, '{"body":{"type":"object"}}', 'x'.repeat(5000)),
      lastModified: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    const step = fc.oneof(put, fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom(...IDS) }));
    const path = fc.array(fc.constantFrom('a', 'b', 'C', '\u00e9T\u00c9', 'x', ''), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), fc.array(path, { minLength: 1, maxLength: 6 }), (steps, paths) => {
        const table = new DefinitionTable();
        const reference = new Map<string, CachedDefinition>();
        for (const s of steps) {
          if (s.kind === 'delete') {
            expect(table.delete(s.id)).toBe(reference.delete(s.id));
          } else {
            const definition = definitionOf(s.id, s.route, s);
            const shape = parseRoute(s.route, '/api') as { key: string };
            const conflicts = [...reference.values()].some(
              (other) => other.id !== s.id && (parseRoute(other.route, '/api') as { key: string }).key === shape.key,
            );
            // Equal shapes conflict and are refused on save: such a put never reaches the view.
            if (conflicts) continue;
            table.put(definition);
            reference.set(s.id, definition);
          }
          expect(table.size).toBe(reference.size);
          for (const id of IDS) expect(table.get(id)).toEqual(reference.get(id));
        }
        // Edits leave no node or index entry behind: the trie is as big as one built afresh from what it holds.
        const afresh = new DefinitionTable();
        for (const definition of reference.values()) afresh.put(definition);
        expect(table.routeFootprint).toEqual(afresh.routeFootprint);
        for (const segments of paths) {
          const found = table.match(segments);
          expect(found?.definition.id).toBe(routeByPriority([...reference.values()], segments));
          if (found) expect(found.definition).toEqual(reference.get(found.definition.id));
        }
      }),
      { numRuns: 1000, seed },
    );
  });

  it('hands out frozen views, one object per definition until it changes, and leaves a view handed out as it was', () => {
    const table = new DefinitionTable();
    table.put(definitionOf(IDS[0]!, 'orders/{id}', { allowedTokens: ['t1', 't2'], requiredScopes: ['read'] }));
    const first = table.get(IDS[0]!)!;
    expect(table.match(['ORDERS', '7'])).toEqual({ definition: first, routeParameters: { id: '7' } });
    expect(table.match(['orders', '7'])!.definition).toBe(first);
    for (const part of [first.segments, first.segments[1], first.allowedTokens, first.requiredScopes, first.actionMeta])
      expect(Object.isFrozen(part)).toBe(true);
    table.put(definitionOf(IDS[0]!, 'invoices/{number}', { allowedTokens: ['t3'] }));
    expect(first).toEqual(
      definitionOf(IDS[0]!, 'orders/{id}', { allowedTokens: ['t1', 't2'], requiredScopes: ['read'] }),
    );
    expect(table.match(['orders', '7'])).toBeUndefined();
    expect(table.match(['invoices', '8'])).toEqual({
      definition: expect.objectContaining({ id: IDS[0], allowedTokens: ['t3'] }),
      routeParameters: { number: '8' },
    });
    // A parameter named like Object.prototype's accessor stays an ordinary value.
    table.put(definitionOf(IDS[1]!, 'things/{__proto__}'));
    const parameters = table.match(['things', 'x'])!.routeParameters;
    expect([Object.keys(parameters), parameters['__proto__'], Object.getPrototypeOf(parameters)]).toEqual([
      ['__proto__'],
      'x',
      Object.prototype,
    ]);
  });

  it('keeps the views of the last 16,384 definitions handed out, oldest out first, through deletions and reuse', () => {
    const table = new DefinitionTable();
    const kept = 16_384;
    const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    for (let i = 0; i <= kept; i += 1) table.put(definitionOf(idOf(i), `kept/r${i}`));
    const first = table.get(idOf(0))!;
    const views = Array.from({ length: kept }, (_, i) => table.get(idOf(i + 1))!);
    // Handing out 16,384 more views pushed the first out: it is made anew, equal; the others are still the same objects.
    expect(table.get(idOf(0))).not.toBe(first);
    expect(table.get(idOf(0))).toEqual(first);
    expect(table.get(idOf(kept))).toBe(views[kept - 1]);
    expect(table.match(['kept', `r${kept}`])!.definition).toBe(views[kept - 1]);
    // A deleted definition's slot is taken by the next one put: its view is the new definition's, never the old one.
    table.delete(idOf(kept));
    table.put(definitionOf(idOf(kept + 1), 'kept/new'));
    expect(table.get(idOf(kept))).toBeUndefined();
    expect(table.get(idOf(kept + 1))).toEqual(definitionOf(idOf(kept + 1), 'kept/new'));
    expect(table.match(['kept', `r${kept}`])).toBeUndefined();
  });

  it('finds each of 10,000 definitions by id and by route through growth, deletion of half and reuse of their room', () => {
    const table = new DefinitionTable();
    const count = 10_000;
    const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    // The bench's two shapes: a static route and one with a parameter between literals.
    const routeOf = (i: number, round: number) => (i % 2 === 0 ? `r${round}/s${i}/leaf` : `r${round}/d${i}/{id}/x`);
    const pathOf = (i: number, round: number) =>
      i % 2 === 0 ? [`R${round}`, `s${i}`, 'LEAF'] : [`r${round}`, `D${i}`, 'v', 'x'];
    for (let i = 0; i < count; i += 1) table.put(definitionOf(idOf(i), routeOf(i, 0), { lastModified: i }));
    expect(table.size).toBe(count);
    for (let i = 0; i < count; i += 1) {
      expect(table.match(pathOf(i, 0))?.definition.id).toBe(idOf(i));
      expect(table.get(idOf(i))?.lastModified).toBe(i);
    }
    for (let i = 0; i < count; i += 2) expect(table.delete(idOf(i))).toBe(true);
    // Odd ones move to new routes: their slots and the nodes of their old routes are freed and taken again.
    for (let i = 1; i < count; i += 2) table.put(definitionOf(idOf(i), routeOf(i, 1), { lastModified: -i }));
    expect(table.size).toBe(count / 2);
    for (let i = 0; i < count; i += 1) {
      expect(table.match(pathOf(i, 0))).toBeUndefined();
      expect(table.match(pathOf(i, 1))?.definition.id).toBe(i % 2 === 1 ? idOf(i) : undefined);
      expect(table.get(idOf(i))?.lastModified).toBe(i % 2 === 1 ? -i : undefined);
    }
    expect(table.delete(idOf(0))).toBe(false);
    for (let i = 1; i < count; i += 2) table.delete(idOf(i));
    expect([table.size, table.routeFootprint]).toEqual([0, { nodes: 0, literalEdges: 0 }]);
  });
});
