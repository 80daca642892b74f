// `udapi definitions ...`: list, create, update and delete, on DefinitionService. Bodies go through the admin API's
// schema for the operation, then the service, as the admin API's do; only the registered-action check is skipped:
// the actions live in the app's process, and the command line registers none.
import { readFileSync } from 'node:fs';
import { ACTION_NAME_PATTERN } from '../actions/registry';
import { AdminError } from '../errors';
import type { DefinitionCreateInput, DefinitionPatch } from '../services/definition-service';
import { definitionOperations } from '../http/definition-routes';
import { bodyValidator, queryValidator } from '../http/validate';
import type { ActionMeta, ApiDefinition } from '../types';
import { listOrNoneOption, stringOption, requiredOption, type CommandDef, type Invocation } from './command-line';
import { all, creating, DEFINITION_COLUMNS, definitionRow, table } from './output';
import { printable } from './printable';

const FIELD_OPTIONS = {
  route: 'the route after the base path, e.g. tickets/{id}/status',
  action: 'the name of the action the app registered',
  'action-type': 'handler (default) or procedure',
  'input-type': 'handlers only: rawBody (default) or parameters',
  name: 'a name for people ("" removes it)',
  description: 'a description for people ("" removes it)',
  tokens: 'the ids of the tokens allowed to call it, comma-separated ("" allows none)',
  'required-scope': 'a scope an allowed token must carry too (a-z 0-9 : . _ -); repeat for more',
  'no-required-scopes': 'requires no scope',
  'input-file': 'a JSON file of the input schemas, {"body": …, "query": …, "route": …} (- reads standard input)',
  'no-input': 'removes the input schemas',
} as const;

/**
 * The one action check the command line can make: a name no app can register is refused with the reason the admin API
 * gives an unregistered one. Whether the app registered it, only the app knows (it answers ActionNotFound otherwise).
 */
function checkActionName(name: string | undefined, id?: string): void {
  if (name === undefined || ACTION_NAME_PATTERN.test(name)) return;
  throw AdminError.of(
    'InvalidActionMeta',
    'No action can have this name: 1-200 letters, digits and _ . : - (starting with a letter, digit or _).',
    { field: 'actionMeta', ...(id !== undefined && { id }) },
  );
}

const FIELDS_NOTE = `FIELDS of a definition: [--route ROUTE] [--action NAME] [--action-type handler|procedure]
  [--input-type rawBody|parameters] [--name NAME] [--description TEXT] [--tokens ID,ID,...]
  [--required-scope SCOPE... | --no-required-scopes] [--input-file FILE | --no-input]`;

/** `--tokens a,b`: the ids, without blanks; "" is none. */
function tokenIds(text: string): string[] {
  return text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

/** `--required-scope A --required-scope B` or `--no-required-scopes`; undefined when neither is given. */
function requiredScopesOf(invocation: Invocation): string[] | undefined {
  return listOrNoneOption(invocation, 'required-scope', 'no-required-scopes');
}

/** `--input-file FILE` (a JSON object of body, query and route schemas; - reads standard input) or `--no-input`. */
function inputOf(invocation: Invocation): object | null | undefined {
  const file = stringOption(invocation.values, 'input-file');
  const none = invocation.values['no-input'] === true;
  if (file !== undefined && none) invocation.fail('Give --input-file or --no-input, not both.');
  if (none) return null;
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    return invocation.fail(
      `Cannot read --input-file ${printable(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // reported below
  }
  return invocation.fail(`--input-file must hold a JSON object of body, query and route schemas (${printable(file)}).`);
}

/**
 * The fields every definition command may set, as the admin API's body names them. The admin API takes the
 * allowed tokens with any change of the security settings: `currentTokens` stands in when only scopes are given.
 */
function fieldsOf(
  invocation: Invocation,
  input: object | null | undefined,
  currentTokens: string[] = [],
): Record<string, unknown> {
  const option = (name: 'route' | 'name' | 'description' | 'action-type' | 'tokens') =>
    stringOption(invocation.values, name);
  const tokens = option('tokens');
  const requiredScopes = requiredScopesOf(invocation);
  const securitySettings =
    tokens === undefined && requiredScopes === undefined
      ? undefined
      : {
          allowedTokens: tokens === undefined ? currentTokens : tokenIds(tokens),
          ...(requiredScopes !== undefined && { requiredScopes }),
        };
  return {
    ...(option('route') !== undefined && { route: option('route') }),
    ...(option('name') !== undefined && { name: option('name') }),
    ...(option('description') !== undefined && { description: option('description') }),
    ...(option('action-type') !== undefined && { actionType: option('action-type') }),
    ...(securitySettings && { securitySettings }),
    ...(input !== undefined && { input }),
  };
}

const list: CommandDef = {
  name: 'definitions list',
  synopsis: '[--search TEXT]',
  summary: 'List definitions (newest first)',
  options: { search: 'definitions whose name, route or description contains TEXT, ignoring case' },
  args: [],
  prepare({ values }) {
    const search = stringOption(values, 'search');
    const query = queryValidator<{ search?: string }>(definitionOperations.list.query)(
      search === undefined ? {} : { search },
    );
    return async ({ internals, show }) => {
      const definitions = await all((cursor) => internals.definitions.list(query, 500, cursor));
      show(definitions, () => table(definitions.map(definitionRow), DEFINITION_COLUMNS));
    };
  },
};

const create: CommandDef = {
  name: 'definitions create',
  synopsis: '--route ROUTE --action NAME [FIELDS]',
  note: FIELDS_NOTE,
  summary: 'Create a definition',
  options: {
    ...FIELD_OPTIONS,
    route: `${FIELD_OPTIONS.route} (required)`,
    action: `${FIELD_OPTIONS.action} (required)`,
  },
  args: [],
  prepare(invocation) {
    const route = requiredOption(invocation, 'route');
    const action = requiredOption(invocation, 'action');
    const inputType = stringOption(invocation.values, 'input-type');
    checkActionName(action);
    const body = bodyValidator<DefinitionCreateInput>(definitionOperations.create.body)({
      ...fieldsOf(invocation, inputOf(invocation)),
      route,
      actionMeta: { name: action, ...(inputType !== undefined && { inputType }) },
    });
    return async ({ internals, ctx, show }) => {
      const definition = await creating(() => internals.definitions.create(body, ctx, { checkActions: false }));
      show(definition, () => `Created definition ${printable(definition.route)} (${definition.id}).`);
    };
  },
};

/**
 * The action of an updated definition: the options given over the current one. A new action type drops an input
 * type that only handlers have, unless --input-type gives one.
 */
function actionOf(invocation: Invocation, current: ApiDefinition): { actionType: string; actionMeta: ActionMeta } {
  const actionType = stringOption(invocation.values, 'action-type') ?? current.actionType;
  const inputType =
    stringOption(invocation.values, 'input-type') ??
    (actionType === current.actionType ? current.actionMeta.inputType : undefined);
  const name = stringOption(invocation.values, 'action') ?? current.actionMeta.name;
  return { actionType, actionMeta: { name, ...(inputType !== undefined && { inputType }) } as ActionMeta };
}

const update: CommandDef = {
  name: 'definitions update',
  synopsis: 'ID FIELDS',
  note: FIELDS_NOTE,
  summary: 'Change a definition (options left out stay as they are)',
  options: { ...FIELD_OPTIONS, tokens: `${FIELD_OPTIONS.tokens}; replaces the list` },
  args: ['ID'],
  prepare(invocation) {
    const [id] = invocation.args as [string];
    if (Object.keys(invocation.values).every((name) => !(name in FIELD_OPTIONS)))
      invocation.fail('`udapi definitions update` needs at least one option to change.');
    checkActionName(stringOption(invocation.values, 'action'), id);
    const changesAction = ['action', 'action-type', 'input-type'].some((name) => name in invocation.values);
    // Scopes without --tokens keep the allowed tokens, which the admin API takes with them.
    const keepsTokens = !('tokens' in invocation.values) && requiredScopesOf(invocation) !== undefined;
    // The body as far as the command line says; the action's other parts come from the definition once connected.
    const validate = bodyValidator<DefinitionPatch>(definitionOperations.update.body);
    const input = inputOf(invocation); // read once: standard input cannot be read again
    const fields = validate(fieldsOf(invocation, input), id);
    return async ({ internals, ctx, show }) => {
      const current = changesAction || keepsTokens ? await internals.definitions.get(id) : null;
      const patch = current
        ? validate(
            {
              ...fieldsOf(invocation, input, current.securitySettings.allowedTokens),
              ...(changesAction && actionOf(invocation, current)),
            },
            id,
          )
        : fields;
      const definition = await internals.definitions.update(id, patch, ctx, { checkActions: false });
      show(definition, () => `Updated definition ${printable(definition.route)} (${definition.id}).`);
    };
  },
};

const remove: CommandDef = {
  name: 'definitions delete',
  synopsis: 'ID',
  summary: 'Delete a definition (its route stops answering)',
  options: {},
  args: ['ID'],
  prepare({ args: [id] }) {
    return async ({ internals, ctx, show }) => {
      await internals.definitions.delete(id!, ctx);
      show({ deleted: id }, () => `Deleted definition ${printable(id!)}.`);
    };
  },
};

export const DEFINITION_COMMANDS: readonly CommandDef[] = [list, create, update, remove];
