// Tells an administrator what the endpoint would do with a secret, method and path, and why: no call, no count, no bcrypt.
import type { ActionRegistry } from '../actions/registry';
import type { CachedDefinition, CachedToken, Catalog } from '../catalog/catalog';
import { ENDPOINT_METHODS } from '../domain/endpoint-methods';
import { parseRequestPath } from '../domain/request-path';
import type { RateLimitStore } from '../domain/rate-limit-store';
import { ErrorCodes, RateLimitStoreError, type ErrorCodeName } from '../errors';
import type { SecretVerifier } from '../security/secret-verifier';
import { AccessDecider, type AccessDecision } from './access-decision';

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
  | 'actionMissing';

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
}

export interface ExplainRequest {
  secret: string;
  method: string;
  /** The request path: with the endpoint's base path (`/api/custom/x/1`) or without it (`x/1`). */
  path: string;
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

  constructor(private readonly deps: ExplainerDeps) {
    this.decider = new AccessDecider(deps);
  }

  async explain(request: ExplainRequest, canReadDefinitions: boolean): Promise<Explanation> {
    const method = request.method.toUpperCase();
    const segments = parseRequestPath(this.withoutBasePath(request.path)).segments;
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
    return explanation(
      verdict,
      describe(decision, canReadDefinitions),
      decision.token,
      shown,
      decision.rateLimitChecked,
    );
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
