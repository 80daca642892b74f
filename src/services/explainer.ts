// Tells an administrator what the endpoint would do with a secret, method and path, and why: no call, no count, no bcrypt.
import type { ActionRegistry } from '../actions/registry';
import type { CachedDefinition, CachedToken, Catalog } from '../catalog/catalog';
import { ENDPOINT_METHODS } from '../domain/endpoint-methods';
import { parseRequestPath } from '../domain/request-path';
import type { RateLimitStore } from '../domain/rate-limit-store';
import { ErrorCodes, RateLimitStoreError, type ErrorCodeName, type InputProblem } from '../errors';
import { InputChecker } from './input-check';
import { parametersOf } from '../domain/parameters';
import { NOOP_LOGGER } from '../logging';
import type { SecretVerifier } from '../security/secret-verifier';
import { AccessDecider, isAllowed, type AccessDecision, type AllowedAccess } from './access-decision';

/** What would happen, in the endpoint's order of checks. */
export type ExplainVerdict =
  | 'allowed'
  | 'methodNotAllowed'
  | 'emptyRoute'
  | 'unknownSecret'
  | 'disabled'
  | 'expired'
  | 'rateLimited'
  | 'noDefinition'
  | 'notAllowed'
  | 'missingScope'
  | 'actionMissing'
  /** The action would be reached, but its input breaks what the API takes (codes 10, 16, 18, 2006). */
  | 'invalidParameters'
  | 'missingParameters'
  | 'invalidInput'
  | 'inputSchemaUnusable';

export interface Explanation {
  verdict: ExplainVerdict;
  /** The status and code the call would get (an allowed call: 200 and null, the action decides the rest). */
  status: number;
  errorCode: number | null;
  explanation: string;
  /** The token the secret belongs to; null when it belongs to none (nothing is said about other tokens). */
  token: { id: string; name: string } | null;
  /** The definition the path matches, if any (null when the user may not read definitions). */
  definition: { id: string; route: string } | null;
  /** False when the rate-limit store cannot be read without counting (a custom store without peek). */
  rateLimitChecked: boolean;
  /** missingParameters: the procedure's parameters the body lacks. */
  missingScriptParameters?: string[];
  /** invalidInput: the problems the endpoint would list (inputErrors of code 18). */
  inputErrors?: InputProblem[];
}

export interface ExplainRequest {
  secret: string;
  method: string;
  /** The request path, with its query: with the endpoint's base path (`/api/custom/x/1?a=1`) or without it (`x/1`). */
  path: string;
  /** The body the call would send, as text; left out: none. Checked against the API's input as the endpoint would. */
  body?: string;
}

export interface ExplainerDeps {
  basePath: string;
  catalog: Catalog;
  verifier: SecretVerifier;
  actions: ActionRegistry;
  rateLimits: RateLimitStore;
}

export class Explainer {
  private readonly decider: AccessDecider;
  // Its own compiled validators: explain is rare, and a schema that does not compile is logged by the endpoint's.
  private readonly inputs: InputChecker;

  constructor(private readonly deps: ExplainerDeps) {
    this.decider = new AccessDecider(deps);
    this.inputs = new InputChecker(NOOP_LOGGER, (id) => deps.catalog.definitionById(id) !== undefined);
  }

  async explain(request: ExplainRequest, canReadDefinitions: boolean): Promise<Explanation> {
    const method = request.method.toUpperCase();
    const path = parseRequestPath(this.withoutBasePath(request.path));
    const segments = path.segments;
    // Reported whatever the verdict, so that an administrator sees which API the path names.
    const matched = segments.length > 0 ? this.deps.catalog.match(segments) : null;
    const shown = matched && canReadDefinitions ? definitionOf(matched.definition) : null;
    if (!ENDPOINT_METHODS.has(method))
      return explanation(
        'methodNotAllowed',
        `The endpoint accepts ${[...ENDPOINT_METHODS].join(', ')}; not ${method}.`,
        this.deps.verifier.lookup(request.secret),
        shown,
      );
    if (segments.length === 0)
      return explanation(
        'emptyRoute',
        'The path names no route after the base path.',
        this.deps.verifier.lookup(request.secret),
        shown,
      );
    let decision: AccessDecision;
    try {
      decision = await this.decider.decide(request.secret, segments, 'explain');
    } catch (error) {
      // Explain reports a store that cannot be read as the store's own failure, not as the endpoint's 503.
      throw error instanceof RateLimitStoreError ? error.cause : error;
    }
    // Explain runs no bcrypt, so it never concludes wrongSecret; were it to, the caller would get the unknown secret's 401.
    // insufficientScope is for host routes only (requireToken), never for a path of the endpoint.
    const verdict =
      decision.verdict === 'wrongSecret' || decision.verdict === 'insufficientScope'
        ? 'unknownSecret'
        : decision.verdict;
    if (isAllowed(decision)) {
      const refused = this.inputVerdict(decision, method, path.rawQuery, request.body ?? '');
      if (refused)
        return { ...explanation(refused.verdict, refused.text, decision.token, shown, true), ...refused.extra };
    }
    return explanation(
      verdict,
      describe(decision, canReadDefinitions),
      decision.token,
      shown,
      decision.rateLimitChecked,
    );
  }

  /** What the endpoint's input checks (step 8) would say of an allowed call, in its order; null when they pass. */
  private inputVerdict(
    access: AllowedAccess,
    method: string,
    rawQuery: string,
    rawBody: string,
  ): { verdict: ExplainVerdict; text: string; extra: Partial<Explanation> } | null {
    const { action, definition, routeParameters } = access;
    const bodyAsParameters = action.kind === 'procedure' || definition.actionMeta.inputType === 'parameters';
    const parameters = bodyAsParameters ? parametersOf(rawBody) : {};
    if (!parameters)
      return { verdict: 'invalidParameters', text: 'The body is not a flat JSON object of parameters.', extra: {} };
    if (action.kind === 'procedure') {
      const missing = action.parameters.filter((name) => !Object.prototype.hasOwnProperty.call(parameters, name));
      if (missing.length > 0)
        return {
          verdict: 'missingParameters',
          text: `The body lacks the procedure's parameter${missing.length > 1 ? 's' : ''} ${missing.map((name) => `'${name}'`).join(', ')}.`,
          extra: { missingScriptParameters: missing },
        };
    }
    const problems = this.inputs.problems(definition, { method, routeParameters, rawQuery, rawBody, bodyAsParameters });
    if (problems === null) return null;
    if (problems === 'unusable')
      return {
        verdict: 'inputSchemaUnusable',
        text: "The API's stored input schema does not compile on this instance; save the definition again.",
        extra: {},
      };
    return {
      verdict: 'invalidInput',
      text: `The call breaks the API's input description: ${problems.length} problem${problems.length > 1 ? 's' : ''} (inputErrors).`,
      extra: { inputErrors: problems },
    };
  }

  private withoutBasePath(path: string): string {
    const base = this.deps.basePath;
    const lower = path.toLowerCase();
    if (lower === base.toLowerCase()) return '';
    return lower.startsWith(`${base.toLowerCase()}/`) ? path.slice(base.length) : path;
  }
}

/** The status and code of each verdict the explain call can give (allowed: 200 and none, the action decides the rest). */
const VERDICT_ERRORS: Record<ExplainVerdict, ErrorCodeName | null> = {
  allowed: null,
  methodNotAllowed: 'InvalidRequestMethod',
  emptyRoute: 'EmptyRoute',
  unknownSecret: 'AuthenticationFailed',
  disabled: 'AuthenticationFailed',
  expired: 'AuthenticationFailed',
  rateLimited: 'RateLimitExceeded',
  noDefinition: 'DefinitionNotFound',
  notAllowed: 'AuthenticationFailed',
  missingScope: 'AuthenticationFailed',
  actionMissing: 'ActionNotFound',
  invalidParameters: 'BodyToParametersConversionFailed',
  missingParameters: 'MissingScriptParameters',
  invalidInput: 'InvalidInput',
  inputSchemaUnusable: 'InputSchemaUnusable',
};

function explanation(
  verdict: ExplainVerdict,
  text: string,
  token: CachedToken | undefined,
  definition: { id: string; route: string } | null,
  rateLimitChecked = false,
): Explanation {
  const error = VERDICT_ERRORS[verdict];
  return {
    verdict,
    status: error ? ErrorCodes[error].status : 200,
    errorCode: error ? ErrorCodes[error].code : null,
    explanation: text,
    token: token ? { id: token.id, name: token.name } : null,
    definition,
    rateLimitChecked,
  };
}

/** The sentence for an administrator; nothing about a definition reaches one who may not read definitions. */
function describe(decision: AccessDecision, canReadDefinitions: boolean): string {
  const { token, definition, action } = decision;
  const api = definition && canReadDefinitions ? `the API '${definition.route}'` : 'the API at this path';
  switch (decision.verdict) {
    case 'unknownSecret':
      return 'No token has this secret (or it was rotated away).';
    case 'disabled':
      return `The token '${token!.name}' is disabled.`;
    case 'expired': {
      const end = new Date(token!.expiresAt!).toISOString();
      return token!.viaPreviousSecret && token!.previousSecretExpiresAt === token!.expiresAt
        ? `This is the previous secret of the token '${token!.name}'; its grace period ended at ${end}.`
        : `The token '${token!.name}' expired at ${end}.`;
    }
    case 'rateLimited': {
      const limit = token!.rateLimit!;
      return `The token '${token!.name}' used its ${limit.limit} requests per ${limit.windowSeconds} s; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s.`;
    }
    case 'noDefinition':
      return 'No API definition matches this path.';
    case 'notAllowed':
      return `${capitalised(api)} does not allow the token '${token!.name}'.`;
    case 'insufficientScope':
      return `The token '${token!.name}' lacks a scope this route requires.`;
    case 'missingScope': {
      // Which scopes the API requires is part of the definition: named only to those who may read definitions.
      const missing = definition!.requiredScopes.filter((scope) => !token!.scopes.includes(scope));
      return canReadDefinitions
        ? `${capitalised(api)} allows the token '${token!.name}' but requires the scope${missing.length > 1 ? 's' : ''} ${missing.map((scope) => `'${scope}'`).join(', ')}, which it lacks.`
        : `${capitalised(api)} allows the token '${token!.name}' but requires a scope it lacks.`;
    }
    case 'wrongSecret':
      // Explain runs no bcrypt, so it never concludes this; the endpoint would refuse like an unknown secret.
      return 'The secret does not match its token.';
    case 'actionMissing': {
      const missing = canReadDefinitions
        ? `The ${definition!.actionType} '${definition!.actionMeta.name}' of this API`
        : 'The action of this API';
      return `${missing} is not registered on this instance.`;
    }
    case 'allowed': {
      const grace = token!.viaPreviousSecret
        ? ` This is the token's previous secret; it works until ${new Date(token!.previousSecretExpiresAt!).toISOString()}.`
        : '';
      const runs = canReadDefinitions ? `the ${action!.kind} '${action!.name}' of ${api}` : `the action of ${api}`;
      return `The call would run ${runs}.${grace}`;
    }
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function definitionOf(definition: CachedDefinition): { id: string; route: string } {
  return { id: definition.id, route: definition.route };
}
