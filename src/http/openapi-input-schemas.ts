// Moves a definition's input schemas into the APIs' OpenAPI document so that their own references still resolve there.
import { ONE_SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS, type InputPart } from '../domain/input-schema';
import type { JsonSchema } from '../types';

/*
 * Where references can be: keywords whose value is a schema, a map of schemas or a list of schemas (those the
 * schema rules walk, plus contentSchema, which ajv only annotates). Everything else (const, enum, default,
 * examples) is data, where a `$ref` key is only a key and stays as it is.
 */
const ONE_SCHEMA = [...ONE_SCHEMA_KEYWORDS, 'contentSchema'] as const;
const SCHEMA_MAPS = SCHEMA_MAP_KEYWORDS;
const SCHEMA_LISTS = SCHEMA_LIST_KEYWORDS;

/**
 * Where OpenAPI tools take a boolean schema as it is (`additionalProperties: false`). Elsewhere, at a component's
 * root or in `allOf` for instance, Redocly wants an object: `true` is written `{}` and `false` `{ not: {} }`, which
 * mean the same.
 */
const BOOLEAN_AS_IS: ReadonlySet<string> = new Set([
  'additionalProperties',
  'items',
  'unevaluatedItems',
  'unevaluatedProperties',
]);

type SchemaObject = Record<string, unknown>;

function isSchemaObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schemas directly inside one schema, each with the JSON Pointer tokens that lead to it. */
function* subschemas(schema: SchemaObject): Generator<[unknown, string[]]> {
  for (const keyword of ONE_SCHEMA) if (schema[keyword] !== undefined) yield [schema[keyword], [keyword]];
  for (const keyword of SCHEMA_MAPS) {
    const map = schema[keyword];
    if (isSchemaObject(map)) for (const [key, value] of Object.entries(map)) yield [value, [keyword, key]];
  }
  for (const keyword of SCHEMA_LISTS) {
    const list = schema[keyword];
    if (Array.isArray(list)) for (const [index, value] of list.entries()) yield [value, [keyword, String(index)]];
  }
}

/** One JSON Pointer token as a URI fragment writes it: `~` and `/` escaped, then what a fragment may not hold. */
function fragmentToken(token: string): string {
  return token
    .replace(/~/g, '~0')
    .replace(/\//g, '~1')
    .replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/gu, (character) => {
      try {
        return encodeURIComponent(character);
      } catch {
        return character; // a lone surrogate: no encoding exists, and no reference can name it anyway
      }
    });
}

/** Each `$anchor` and `$dynamicAnchor` of a schema, with the fragment (`/$defs/node`) of the schema that has it. */
function anchorsOf(schema: unknown, at: string, anchors: Map<string, string>): Map<string, string> {
  if (!isSchemaObject(schema)) return anchors;
  for (const keyword of ['$anchor', '$dynamicAnchor'])
    if (typeof schema[keyword] === 'string' && !anchors.has(schema[keyword])) anchors.set(schema[keyword], at);
  for (const [sub, tokens] of subschemas(schema))
    anchorsOf(sub, `${at}/${tokens.map(fragmentToken).join('/')}`, anchors);
  return anchors;
}

/** A JSON Pointer token as written in a reference (percent-encoded, `~1` for `/`), as the key it names. */
function tokenKey(token: string): string {
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch {
    // not percent-encoded text: the token as it is
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A component name: only these characters are allowed. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** A part's schema placed in the document: the schemas it becomes, by component name, the root's among them. */
export interface PlacedSchema {
  /** The root schema as the document holds it (its `$defs` lifted out): where route and query properties come from. */
  root: JsonSchema;
  /** `name` (the root) and one per entry of its `$defs`; refer to the root as `#/components/schemas/<name>`. */
  components: Record<string, JsonSchema>;
}

/**
 * A schema placed at `#/components/schemas/<name>`. Its references meant its own root (the input rules allow only
 * `#…` ones); in the document `#` is the document, so each says where its target is now. The root's `$defs` become
 * components of their own (`<name>-<key>`): a reference to one is then a reference to a component, as linters and
 * client generators expect, and the types get names. Anchors become pointers and are dropped: all components share
 * the document's one resource, where two definitions' equal anchors would clash. With a single resource,
 * `$dynamicRef` resolves as `$ref` does, and becomes one. A top-level `$schema` goes: OpenAPI 3.1 schemas are
 * draft 2020-12 already. Boolean schemas become objects where tools want one (BOOLEAN_AS_IS).
 */
export function placeSchema(schema: JsonSchema, name: string): PlacedSchema {
  const defs = isSchemaObject(schema) && isSchemaObject(schema.$defs) ? schema.$defs : {};
  const lifted = new Map<string, string>();
  const taken = new Set<string>();
  for (const key of Object.keys(defs)) {
    const wanted = `${name}-${safeName(key)}`;
    let unique = wanted;
    for (let n = 2; taken.has(unique); n++) unique = `${wanted}-${n}`;
    taken.add(unique);
    lifted.set(key, unique);
  }
  /** Where the schema at a pointer of the original (`''`, `/$defs/a/items`) is in the document. */
  const locate = (pointer: string): string => {
    const match = /^\/\$defs\/([^/]*)(.*)$/s.exec(pointer);
    const component = match ? lifted.get(tokenKey(match[1]!)) : undefined;
    return component === undefined
      ? `#/components/schemas/${name}${pointer}`
      : `#/components/schemas/${component}${match![2]}`;
  };
  const anchors = anchorsOf(schema, '', new Map());
  const target = (ref: unknown): unknown => {
    if (typeof ref !== 'string' || !ref.startsWith('#')) return ref;
    if (ref === '#' || ref.startsWith('#/')) return locate(ref.slice(1));
    const anchor = anchors.get(ref.slice(1));
    return anchor === undefined ? ref : locate(anchor);
  };
  const copy = (node: unknown, root: boolean, keyword?: string): unknown => {
    if (typeof node === 'boolean')
      return keyword !== undefined && BOOLEAN_AS_IS.has(keyword) ? node : node ? {} : { not: {} };
    if (!isSchemaObject(node)) return node;
    const out: SchemaObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$anchor' || key === '$dynamicAnchor' || (root && key === '$schema')) continue;
      if (key === '$ref' || key === '$dynamicRef') continue; // below, once the rest is copied
      if (root && key === '$defs') continue; // lifted out
      if ((ONE_SCHEMA as readonly string[]).includes(key)) out[key] = copy(value, false, key);
      else if ((SCHEMA_MAPS as readonly string[]).includes(key) && isSchemaObject(value))
        out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, copy(sub, false)]));
      else if ((SCHEMA_LISTS as readonly string[]).includes(key) && Array.isArray(value))
        out[key] = value.map((sub) => copy(sub, false));
      else out[key] = value;
    }
    const refs = [node.$ref, node.$dynamicRef].filter((ref) => ref !== undefined).map(target);
    if (refs.length > 0) out.$ref = refs[0];
    // Both in one schema: the second joins as an allOf branch, which asks the same.
    if (refs.length > 1) out.allOf = [...(Array.isArray(out.allOf) ? (out.allOf as unknown[]) : []), { $ref: refs[1] }];
    return out;
  };
  const root = copy(schema, true) as JsonSchema;
  const components: Record<string, JsonSchema> = { [name]: root };
  for (const [key, component] of lifted) components[component] = copy(defs[key], false) as JsonSchema;
  return { root, components };
}

/**
 * The components `from` refers to, directly or through each other, among `candidates`: a part's schema is in the
 * document only where something uses it, as linters want (a route or query schema is used through its properties).
 */
export function referencedComponents(
  from: unknown,
  candidates: Readonly<Record<string, JsonSchema>>,
): Record<string, JsonSchema> {
  const found: Record<string, JsonSchema> = {};
  const pending: unknown[] = [from];
  // Any `$ref` text counts, data included: at worst a schema nothing uses is in the document, which is harmless.
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isSchemaObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
          const name = tokenKey(value.slice('#/components/schemas/'.length).split('/')[0]!);
          if (Object.prototype.hasOwnProperty.call(candidates, name) && !(name in found)) {
            found[name] = candidates[name]!;
            pending.push(candidates[name]);
          }
        } else visit(value);
      }
    }
  };
  while (pending.length > 0) visit(pending.pop());
  return found;
}

/** The name of a definition part's schema under components/schemas: the id keeps it unique and stable. */
export function inputComponentName(definitionId: string, part: InputPart): string {
  // Ids are UUIDs: safeName only guards against the unexpected.
  return `input-${safeName(definitionId)}-${part}`;
}
