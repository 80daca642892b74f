// Unit tests of placing an input schema in the APIs' OpenAPI document: where each reference points afterwards.
import { placeSchema, referencedComponents } from '../src/http/openapi-input-schemas';

describe('placeSchema', () => {
  it('lifts $defs into components of their own and points references at them, escaped keys included', () => {
    const placed = placeSchema(
      {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          a: { $ref: '#/$defs/a b' },
          b: { $ref: '#/$defs/a_b/items' },
          c: { $ref: '#/$defs/a~1b' },
          d: { $ref: '#/$defs/a%20b' },
          self: { $ref: '#' },
          deep: { $ref: '#/properties/a' },
        },
        $defs: { 'a b': { type: 'string' }, a_b: { type: 'array', items: { type: 'number' } }, 'a/b': true },
      },
      'In',
    );
    expect(Object.keys(placed.components)).toEqual(['In', 'In-a_b', 'In-a_b-2', 'In-a_b-3']);
    expect(placed.root).toEqual({
      type: 'object',
      properties: {
        a: { $ref: '#/components/schemas/In-a_b' },
        b: { $ref: '#/components/schemas/In-a_b-2/items' },
        c: { $ref: '#/components/schemas/In-a_b-3' },
        d: { $ref: '#/components/schemas/In-a_b' },
        self: { $ref: '#/components/schemas/In' },
        deep: { $ref: '#/components/schemas/In/properties/a' },
      },
    });
    // A boolean schema at a component's root becomes the object that means the same.
    expect(placed.components['In-a_b-3']).toEqual({});
  });

  it('turns anchors into pointers, a $dynamicRef into a $ref, and both in one schema into an allOf branch', () => {
    const placed = placeSchema(
      {
        $defs: { node: { $anchor: 'node', $dynamicAnchor: 'tree', type: 'object' } },
        properties: {
          byAnchor: { $ref: '#node' },
          dynamic: { $dynamicRef: '#tree' },
          both: { $ref: '#node', $dynamicRef: '#/$defs/node', allOf: [{ minProperties: 1 }] },
          unknownAnchor: { $ref: '#nowhere' },
          remoteLooking: { $ref: 'other.json' },
          nested: { properties: { x: { $anchor: 'x', type: 'integer' } } },
          toNested: { $ref: '#x' },
        },
      },
      'Body',
    );
    expect(placed.components['Body-node']).toEqual({ type: 'object' });
    expect(placed.root).toEqual({
      properties: {
        byAnchor: { $ref: '#/components/schemas/Body-node' },
        dynamic: { $ref: '#/components/schemas/Body-node' },
        both: {
          $ref: '#/components/schemas/Body-node',
          allOf: [{ minProperties: 1 }, { $ref: '#/components/schemas/Body-node' }],
        },
        unknownAnchor: { $ref: '#nowhere' },
        remoteLooking: { $ref: 'other.json' },
        nested: { properties: { x: { type: 'integer' } } },
        toNested: { $ref: '#/components/schemas/Body/properties/nested/properties/x' },
      },
    });
  });

  it('keeps booleans where tools take them, writes them as objects elsewhere, and leaves data alone', () => {
    const placed = placeSchema(
      {
        additionalProperties: false,
        items: true,
        allOf: [true, false],
        not: false,
        const: { $ref: '#/not-a-reference' },
        properties: { 'odd/name~': { type: 'string', $anchor: 'odd' } },
        contentSchema: { $ref: '#odd' },
      },
      'Q',
    );
    expect(placed.root).toEqual({
      additionalProperties: false,
      items: true,
      allOf: [{}, { not: {} }],
      not: { not: {} },
      const: { $ref: '#/not-a-reference' },
      properties: { 'odd/name~': { type: 'string' } },
      contentSchema: { $ref: '#/components/schemas/Q/properties/odd~1name~0' },
    });
    expect(placeSchema(true, 'T')).toEqual({ root: {}, components: { T: {} } });
  });

  it('encodes what a fragment may not hold, and a lone surrogate as it is', () => {
    const placed = placeSchema(
      { properties: { 'é x': { $anchor: 'e' }, '\ud800': { $anchor: 's' } }, allOf: [{ $ref: '#e' }, { $ref: '#s' }] },
      'P',
    );
    expect(placed.root).toMatchObject({
      allOf: [
        { $ref: '#/components/schemas/P/properties/%C3%A9%20x' },
        { $ref: '#/components/schemas/P/properties/\ud800' },
      ],
    });
  });
});

describe('referencedComponents', () => {
  it('finds the components used directly or through each other, once each, and nothing else', () => {
    const candidates = {
      A: { $ref: '#/components/schemas/B/items' },
      B: { items: { $ref: '#/components/schemas/A' } },
      'C D': { type: 'string' },
      Unused: { type: 'null' },
    };
    const found = referencedComponents(
      [{ $ref: '#/components/schemas/A' }, { $ref: '#/components/schemas/C%20D' }, { $ref: '#/elsewhere' }],
      candidates,
    );
    expect(Object.keys(found).sort()).toEqual(['A', 'B', 'C D']);
    expect(referencedComponents({ $ref: '#/components/schemas/Missing' }, candidates)).toEqual({});
  });
});
