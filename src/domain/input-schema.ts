// A definition's input schemas: the rules a schema must keep to be stored, and compiling it with ajv (draft 2020-12).
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ApiInput, JsonSchema } from '../types';

/** The parts of a request an input schema may describe, in the order the endpoint checks them. */
export const INPUT_PARTS = ['route', 'query', 'body'] as const;
export type InputPart = (typeof INPUT_PARTS)[number];

/** In bytes of the schemas' JSON text, all parts together. */
export const INPUT_SCHEMA_MAX_BYTES = 65_536;
/** Nesting of schemas within schemas. */
export const INPUT_SCHEMA_MAX_DEPTH = 32;
/** In characters, of one `pattern` or `patternProperties` key. */
export const INPUT_PATTERN_MAX_LENGTH = 512;

/**
 * The backtracking a pattern may cost on one string, in steps: a pattern with k repetitions (and none nested) costs at
 * most about n^k on a string of n characters, so its strings are held to n^k ≤ this (see patternLengthCap).
 */
export const PATTERN_WORK_LIMIT = 1e7;

export interface SchemaProblem {
  /** Where: `input.body/properties/name/pattern` and so on. */
  field: string;
  message: string;
}

/** Keywords whose value is one schema, a map of schemas, or a list of schemas (draft 2020-12 and the formats). */
export const ONE_SCHEMA_KEYWORDS = [
  'additionalProperties',
  'items',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
] as const;
export const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'] as const;
export const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of a regular expression that decide how much it can backtrack. */
type PatternToken = 'open' | 'close' | 'atom' | 'backReference' | { repeat: 'once' | 'many' };

/** Splits a pattern into groups, atoms and repetitions; escapes and character classes are single atoms. */
function* patternTokens(pattern: string): Generator<PatternToken> {
  for (let i = 0; i < pattern.length; i++) {
    const character = pattern[i]!;
    if (character === '\\') {
      const next = pattern[i + 1] ?? '';
      i += 1;
      yield /[1-9]/.test(next) || next === 'k' ? 'backReference' : 'atom';
    } else if (character === '[') {
      for (i += 1; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i += 1;
      yield 'atom';
    } else if (character === '(') yield 'open';
    else if (character === ')') yield 'close';
    else {
      const repetition = repetitionAt(pattern, i);
      if (repetition === null) yield 'atom';
      else {
        i = repetition.end;
        yield { repeat: repetition.many ? 'many' : 'once' };
      }
    }
  }
}

/** A quantifier starting at `i`: where it ends and whether it allows more than one repetition. */
function repetitionAt(pattern: string, i: number): { end: number; many: boolean } | null {
  const character = pattern[i];
  let end = i;
  let many: boolean;
  if (character === '*' || character === '+') many = true;
  else if (character === '?') many = false;
  else if (character === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (!match) return null;
    end = i + match[0].length - 1;
    const upper = match[2] === undefined ? Number(match[1]) : match[3] === '' ? Infinity : Number(match[3]);
    many = upper > 1;
  } else return null;
  if (pattern[end + 1] === '?') end += 1; // lazy: the same repetition
  return { end, many };
}

/**
 * Why a regular expression could take time exponential in its input, or null. Conservative, like safe-regex: a
 * repeated group must not itself hold a repetition (`(a+)+`, `(a*b?)*`), and back-references are refused. What is
 * left is at worst polynomial, and patternLengthCap bounds that.
 */
export function slowPatternProblem(pattern: string): string | null {
  if (pattern.length > INPUT_PATTERN_MAX_LENGTH) return `is over ${INPUT_PATTERN_MAX_LENGTH} characters long`;
  // For each open group: whether a repetition occurs inside it.
  const outer: boolean[] = [];
  let repeatedInside = false;
  let lastWasRepeatingGroup = false;
  for (const token of patternTokens(pattern)) {
    if (token === 'backReference') return 'uses a back-reference';
    if (token === 'open') {
      outer.push(repeatedInside);
      repeatedInside = false;
      lastWasRepeatingGroup = false;
    } else if (token === 'close') {
      const inner: boolean = repeatedInside;
      repeatedInside = (outer.pop() ?? false) || inner;
      lastWasRepeatingGroup = inner;
    } else if (token === 'atom') lastWasRepeatingGroup = false;
    else {
      if (token.repeat === 'many' && lastWasRepeatingGroup)
        return 'repeats a group that itself repeats (such as (a+)+)';
      if (token.repeat === 'many') repeatedInside = true;
      lastWasRepeatingGroup = false;
    }
  }
  return null;
}

/**
 * The longest string a pattern is run on: n with n^k ≤ PATTERN_WORK_LIMIT for its k repetitions. A schema's maxLength
 * must stay within it, and the validators' regular expressions refuse anything longer without running (even where
 * ajv's all-errors mode checks the pattern of a string already over its maxLength).
 */
export function patternLengthCap(pattern: string): number {
  let repetitions = 0;
  for (const token of patternTokens(pattern)) if (typeof token === 'object' && token.repeat === 'many') repetitions++;
  return repetitions === 0 ? Infinity : Math.floor(PATTERN_WORK_LIMIT ** (1 / repetitions));
}

/** Problems of one schema and those within it, found without ajv: refs, ids, and what makes validation slow. */
function walkProblems(schema: unknown, at: string, depth: number, root: boolean, problems: SchemaProblem[]): void {
  if (typeof schema === 'boolean') return;
  if (!isPlainObject(schema)) {
    problems.push({ field: at, message: 'A schema must be a JSON object or a boolean.' });
    return;
  }
  if (depth > INPUT_SCHEMA_MAX_DEPTH) {
    problems.push({ field: at, message: `Schemas may nest at most ${INPUT_SCHEMA_MAX_DEPTH} deep.` });
    return;
  }
  for (const keyword of ['$ref', '$dynamicRef']) {
    const ref = schema[keyword];
    if (ref !== undefined && (typeof ref !== 'string' || !ref.startsWith('#')))
      problems.push({
        field: `${at}/${keyword}`,
        message: `${keyword} may only point inside the same schema (start with #); nothing is fetched.`,
      });
  }
  if (schema.$id !== undefined)
    problems.push({ field: `${at}/$id`, message: '$id is not allowed: each schema stands alone.' });
  if (schema.$schema !== undefined && (!root || schema.$schema !== DRAFT_2020_12))
    problems.push({
      field: `${at}/$schema`,
      message: `$schema may only be ${DRAFT_2020_12}, at the top of a part.`,
    });
  const hasMaxLength = typeof schema.maxLength === 'number';
  if (schema.pattern !== undefined) {
    if (!hasMaxLength)
      problems.push({ field: `${at}/pattern`, message: 'A pattern needs a maxLength beside it, to bound its work.' });
    if (typeof schema.pattern === 'string') {
      const slow = slowPatternProblem(schema.pattern);
      if (slow) problems.push({ field: `${at}/pattern`, message: `The pattern ${slow}.` });
      const cap = patternLengthCap(schema.pattern);
      if (!slow && hasMaxLength && (schema.maxLength as number) > cap)
        problems.push({
          field: `${at}/maxLength`,
          message: `With this pattern's repetitions, maxLength may be at most ${cap}, to bound its work.`,
        });
    }
  }
  if (schema.format !== undefined && !hasMaxLength)
    problems.push({ field: `${at}/format`, message: 'A format needs a maxLength beside it, to bound its work.' });
  if (schema.uniqueItems === true && typeof schema.maxItems !== 'number')
    problems.push({
      field: `${at}/uniqueItems`,
      message: 'uniqueItems needs a maxItems beside it, to bound its work.',
    });
  if (isPlainObject(schema.patternProperties)) {
    const names = schema.propertyNames;
    const maxLength = isPlainObject(names) && typeof names.maxLength === 'number' ? names.maxLength : null;
    if (maxLength === null)
      problems.push({
        field: `${at}/patternProperties`,
        message: 'patternProperties needs propertyNames with a maxLength beside it, to bound its work.',
      });
    for (const key of Object.keys(schema.patternProperties)) {
      const slow = slowPatternProblem(key);
      if (slow) problems.push({ field: `${at}/patternProperties/${key}`, message: `The pattern ${slow}.` });
      const cap = patternLengthCap(key);
      if (!slow && maxLength !== null && maxLength > cap)
        problems.push({
          field: `${at}/propertyNames/maxLength`,
          message: `With the repetitions of the pattern ${key}, propertyNames' maxLength may be at most ${cap}.`,
        });
    }
  }
  for (const keyword of ONE_SCHEMA_KEYWORDS)
    if (schema[keyword] !== undefined) walkProblems(schema[keyword], `${at}/${keyword}`, depth + 1, false, problems);
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const map = schema[keyword];
    if (!isPlainObject(map)) continue;
    for (const [key, value] of Object.entries(map))
      walkProblems(value, `${at}/${keyword}/${key}`, depth + 1, false, problems);
  }
  for (const keyword of SCHEMA_LIST_KEYWORDS) {
    const list = schema[keyword];
    if (!Array.isArray(list)) continue;
    list.forEach((value, index) => walkProblems(value, `${at}/${keyword}/${index}`, depth + 1, false, problems));
  }
}

/**
 * Every problem of a definition's `input`, or none: its shape, size, the rules above, ajv's meta-schema and strict
 * mode. `routeParameters` are the route's `{name}`s: the route part may describe only those.
 */
export function inputProblems(input: unknown, routeParameters: readonly string[]): SchemaProblem[] {
  if (!isPlainObject(input))
    return [{ field: 'input', message: 'input must be an object with body, query and route schemas, or null.' }];
  const problems: SchemaProblem[] = [];
  for (const key of Object.keys(input))
    if (!(INPUT_PARTS as readonly string[]).includes(key))
      problems.push({ field: `input.${key}`, message: 'input may describe only body, query and route.' });
  const bytes = Buffer.byteLength(JSON.stringify(input));
  if (bytes > INPUT_SCHEMA_MAX_BYTES)
    return [
      { field: 'input', message: `The input schemas are ${bytes} bytes as JSON; at most ${INPUT_SCHEMA_MAX_BYTES}.` },
    ];
  for (const part of INPUT_PARTS) {
    const schema = input[part];
    if (schema === undefined) continue;
    const at = `input.${part}`;
    const found: SchemaProblem[] = [];
    walkProblems(schema, at, 0, true, found);
    if (found.length === 0) found.push(...compileProblems(part, schema, at));
    if (found.length === 0 && part === 'route') found.push(...routeSchemaProblems(schema, routeParameters));
    problems.push(...found);
  }
  return problems;
}

function routeSchemaProblems(schema: unknown, routeParameters: readonly string[]): SchemaProblem[] {
  if (!isPlainObject(schema) || !isPlainObject(schema.properties)) return [];
  return Object.keys(schema.properties)
    .filter((name) => !routeParameters.includes(name))
    .map((name) => ({
      field: `input.route/properties/${name}`,
      message: `The route has no parameter {${name}}; it has ${routeParameters.length === 0 ? 'none' : routeParameters.map((p) => `{${p}}`).join(', ')}.`,
    }));
}

/** ajv's judgement: the meta-schema (with the path of each problem), then strict mode (unknown keywords and formats). */
function compileProblems(part: InputPart, schema: unknown, at: string): SchemaProblem[] {
  const ajv = ajvFor(part, false);
  if (!ajv.validateSchema(schema as object)) {
    return (ajv.errors ?? []).map((error) => ({
      field: `${at}${error.instancePath}`,
      message: `The schema ${error.message ?? 'is invalid'}.`,
    }));
  }
  try {
    compileSchema(part, schema as JsonSchema, false);
    return [];
  } catch (error) {
    return [{ field: at, message: (error as Error).message }];
  }
}

/*
 * Four ajv instances: bodies are never coerced (a JSON body has its own types), query and route values are text,
 * coerced to the types a schema declares (`"10"` passes `{ type: "integer" }`, a single value passes an array).
 * The first error is enough to refuse a call; listing all of them is done only for small inputs (input-check.ts).
 */
const ajvs = new Map<string, Ajv2020>();

function ajvFor(part: InputPart, allErrors: boolean): Ajv2020 {
  const coerce = part !== 'body';
  const key = `${coerce}-${allErrors}`;
  let ajv = ajvs.get(key);
  if (!ajv) {
    ajv = new Ajv2020({
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
      allErrors,
      coerceTypes: coerce ? 'array' : false,
      logger: false,
      // Long lists of required names or enum values become a loop, not a line of code each: compile time stays bounded.
      loopRequired: 16,
      loopEnum: 16,
      unicodeRegExp: true,
      // ajv's optimizing pass makes compiling 2-3 times slower for code that runs no faster (measured: a 5-field
      // schema 28 ms vs 11 ms to compile, 0.1 µs per check either way); compiling happens on a call's path.
      code: { regExp: boundedRegExp, optimize: false },
    });
    addFormats(ajv);
    ajvs.set(key, ajv);
  }
  return ajv;
}

/** A pattern that refuses, without running, a string longer than its cap: its work stays bounded whatever ajv does. */
class BoundedRegExp {
  private readonly expression: RegExp;
  private readonly cap: number;

  constructor(pattern: string, flags: string) {
    this.expression = new RegExp(pattern, flags);
    this.cap = patternLengthCap(pattern);
  }

  test(text: string): boolean {
    return text.length <= this.cap && this.expression.test(text);
  }

  /** ajv keys the patterns of a schema by this text. */
  toString(): string {
    return this.expression.toString();
  }
}

const boundedRegExp = Object.assign((pattern: string, flags: string) => new BoundedRegExp(pattern, flags), {
  code: 'boundedRegExp',
});

/** Compiles one part's schema; throws ajv's error when it cannot. Keeps no reference to the schema (no cache growth). */
export function compileSchema(part: InputPart, schema: JsonSchema, allErrors: boolean): ValidateFunction {
  const ajv = ajvFor(part, allErrors);
  try {
    return ajv.compile(schema);
  } finally {
    // ajv caches every compiled schema by identity; definitions come and go, so the cache would only grow.
    if (typeof schema === 'object') ajv.removeSchema(schema);
  }
}

/** The `input` of a stored definition: its JSON text parsed, or null when it has none. */
export function parseStoredInput(text: string | undefined | null): ApiInput | null {
  if (text === undefined || text === null || text === '') return null;
  return JSON.parse(text) as ApiInput;
}

/** The `{name}`s of a route, in order. */
export function routeParameterNames(route: string): string[] {
  return [...route.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
}

export type { ErrorObject };
