// Checks a call's route parameters, query and body against its definition's input schemas (endpoint code 18).
import type { ValidateFunction } from 'ajv/dist/2020';
import type { CachedDefinition } from '../catalog/catalog';
import { compileSchema, INPUT_PARTS, parseStoredInput, type InputPart } from '../domain/input-schema';
import { EndpointError, type InputProblem } from '../errors';
import { errorSummary } from '../logging';
import type { Logger } from '../types';

/** At most this many problems are listed in one answer. */
export const MAX_INPUT_PROBLEMS = 20;
/** Every problem is looked for only in bodies up to this many characters; a larger one gets its first problem. */
export const LIST_ALL_PROBLEMS_UP_TO_BYTES = 65_536;
/** Longer instance paths and messages are cut short: they may quote what the client sent. */
const MAX_PATH_LENGTH = 200;
const MAX_MESSAGE_LENGTH = 300;
const MAX_QUOTED_NAME_LENGTH = 64;

interface CompiledPart {
  /** Stops at the first problem: decides the call. */
  readonly first: ValidateFunction;
  /** Finds every problem: only for a refused input that is small. */
  readonly all: ValidateFunction;
}
type CompiledInput = Partial<Record<InputPart, CompiledPart>>;

/** Methods whose calls carry a body; an empty body is a problem for them when the API describes its body. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** What a call brings for each part; `body` is the body's text ('' when none) and how it is handed to the action. */
export interface CallInput {
  method: string;
  routeParameters: Record<string, string>;
  rawQuery: string;
  rawBody: string;
  /** True when the action receives the body as parameters (a flat object; an empty body is {}). */
  bodyAsParameters: boolean;
}

/** A definition's compiled validators, with the schemas' text they were compiled from. */
interface CacheEntry {
  readonly text: string;
  readonly compiled: CompiledInput | Error;
  /**
   * The view last found to hold `text`. Views are made anew at times (a reload, a miss in the view's cache of recent
   * definitions), so a text of up to 64 KB is compared once per view made, not on every call.
   */
  checkedView: CachedDefinition;
}

/**
 * Compiled validators per definition, compiled once (at its first call on this instance) and kept while its schemas'
 * text stays the same: a full reload of the view, which makes every definition's view anew, compiles nothing. A
 * changed schema is compiled again at its next call; entries of deleted definitions are swept at each compile
 * (rare). A schema that does not compile is remembered too, so the failure is logged once and each call is refused
 * without compiling again.
 */
export class InputChecker {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly log: Logger,
    /** Whether a definition id is still in the view: entries of the others are let go. */
    private readonly exists: (definitionId: string) => boolean,
  ) {}

  /** Throws EndpointError InvalidInput (400, 18) listing the problems, or InputSchemaUnusable (500, 2006). */
  check(definition: CachedDefinition, call: CallInput): void {
    if (definition.inputSchemas === null) return;
    const compiled = this.compiledFor(definition, definition.inputSchemas);
    // Rare (a stored schema this instance cannot compile): a new error each time costs nothing that matters.
    if (compiled instanceof Error) throw new EndpointError('InputSchemaUnusable');
    const problems = inputProblemsOf(compiled, call);
    if (problems !== null) throw new EndpointError('InvalidInput', { inputErrors: problems });
  }

  /** The problems a call's input has, or null (for explain: the same checks, no throw). */
  problems(definition: CachedDefinition, call: CallInput): InputProblem[] | 'unusable' | null {
    if (definition.inputSchemas === null) return null;
    const compiled = this.compiledFor(definition, definition.inputSchemas);
    return compiled instanceof Error ? 'unusable' : inputProblemsOf(compiled, call);
  }

  /** How many times any checker compiled a definition's schemas (tests count them). */
  static compilations = 0;

  private compiledFor(definition: CachedDefinition, text: string): CompiledInput | Error {
    const known = this.cache.get(definition.id);
    if (known !== undefined && (known.checkedView === definition || known.text === text)) {
      known.checkedView = definition;
      return known.compiled;
    }
    for (const id of this.cache.keys()) if (!this.exists(id)) this.cache.delete(id);
    InputChecker.compilations++;
    const compiled = compileInput(text);
    if (compiled instanceof Error)
      this.log.error(
        { definitionId: definition.id, route: definition.route, err: errorSummary(compiled) },
        `The input schema of API definition ${definition.id} cannot be compiled; its calls are refused (500, code 2006) until it is saved again`,
      );
    this.cache.set(definition.id, { text, compiled, checkedView: definition });
    return compiled;
  }
}

function compileInput(text: string): CompiledInput | Error {
  try {
    const input = parseStoredInput(text);
    const compiled: CompiledInput = {};
    for (const part of INPUT_PARTS) {
      const schema = input?.[part];
      if (schema === undefined) continue;
      compiled[part] = { first: compileSchema(part, schema, false), all: compileSchema(part, schema, true) };
    }
    return compiled;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function inputProblemsOf(compiled: CompiledInput, call: CallInput): InputProblem[] | null {
  const problems: InputProblem[] = [];
  // Route and query values are bounded by the URL's length; a body by maxBodyBytes, which may be large.
  if (compiled.route) validatePart(compiled.route, 'route', { ...call.routeParameters }, true, problems);
  if (compiled.query) validatePart(compiled.query, 'query', queryObjectOf(call.rawQuery), true, problems);
  if (compiled.body) {
    const body = bodyValueOf(call);
    if (body === EMPTY) {
      if (BODY_METHODS.has(call.method))
        problems.push({ in: 'body', instancePath: '', message: 'must be a JSON body; the body is empty' });
    } else if (body === NOT_JSON) {
      problems.push({ in: 'body', instancePath: '', message: 'must be JSON; the body does not parse as JSON' });
    } else {
      const listAll = call.rawBody.length <= LIST_ALL_PROBLEMS_UP_TO_BYTES;
      validatePart(compiled.body, 'body', body.value, listAll, problems);
    }
  }
  return problems.length === 0 ? null : problems.slice(0, MAX_INPUT_PROBLEMS);
}

const EMPTY = Symbol('empty');
const NOT_JSON = Symbol('not JSON');

function bodyValueOf(call: CallInput): { value: unknown } | typeof EMPTY | typeof NOT_JSON {
  if (call.rawBody.trim() === '') return call.bodyAsParameters ? { value: {} } : EMPTY;
  try {
    return { value: JSON.parse(call.rawBody) as unknown };
  } catch {
    return NOT_JSON;
  }
}

/** The query as an object: a key given once has its text, a key given again the list of its texts. */
function queryObjectOf(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === '') return query;
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const known = Object.prototype.hasOwnProperty.call(query, key) ? query[key] : undefined;
    const next = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
    // defineProperty keeps a `__proto__` key an ordinary own property.
    Object.defineProperty(query, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return query;
}

function validatePart(
  compiled: CompiledPart,
  part: InputPart,
  value: unknown,
  listAll: boolean,
  problems: InputProblem[],
): void {
  let valid: boolean;
  try {
    valid = compiled.first(value);
  } catch (error) {
    // A recursive schema over very deep data can exhaust the stack: that input is refused, not the process.
    if (!(error instanceof RangeError)) throw error;
    problems.push({ in: part, instancePath: '', message: 'is nested too deeply to check' });
    return;
  }
  if (valid) return;
  let errors = compiled.first.errors ?? [];
  if (listAll) {
    try {
      compiled.all(value);
      errors = compiled.all.errors ?? errors;
    } catch {
      // The first problem is still known; the list stays at that one.
    }
  }
  for (const error of errors) {
    if (problems.length >= MAX_INPUT_PROBLEMS) return;
    const extra =
      error.keyword === 'additionalProperties' && typeof error.params.additionalProperty === 'string'
        ? ` (${cut(error.params.additionalProperty, MAX_QUOTED_NAME_LENGTH)})`
        : '';
    problems.push({
      in: part,
      instancePath: cut(error.instancePath, MAX_PATH_LENGTH),
      message: cut(`${error.message ?? 'is invalid'}${extra}`, MAX_MESSAGE_LENGTH),
    });
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
