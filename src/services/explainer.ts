// Tells an administrator what the endpoint would do with a secret, method and path, and why: no call, no count, no bcrypt.
import type { ActionRegistry } from '../actions/registry';
import { hasExpired, type Catalog, type CachedDefinition } from '../catalog/catalog';
import { ENDPOINT_METHODS } from '../endpoint/endpoint-handler';
import { parseRequestPath } from '../endpoint/request-path';
import type { RateLimitStore } from '../endpoint/sliding-window';
import { ErrorCodes, type ErrorCodeName } from '../errors';
import type { SecretVerifier } from '../security/secret-verifier';

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
  constructor(private readonly deps: ExplainerDeps) {}

  async explain(request: ExplainRequest, canReadDefinitions: boolean): Promise<Explanation> {
    const { catalog, verifier, actions, rateLimits } = this.deps;
    const method = request.method.toUpperCase();
    const segments = parseRequestPath(this.withoutBasePath(request.path)).segments;
    const token = verifier.lookup(request.secret);
    const matched = segments.length > 0 ? catalog.match(segments) : null;
    const result = (verdict: ExplainVerdict, error: ErrorCodeName | null, explanation: string, rateLimitChecked = false): Explanation => ({
      verdict,
      status: error ? ErrorCodes[error].status : 200,
      errorCode: error ? ErrorCodes[error].code : null,
      explanation,
      token: token ? { id: token.id, name: token.name } : null,
      definition: matched && canReadDefinitions ? definitionOf(matched.definition) : null,
      rateLimitChecked,
    });

    if (!ENDPOINT_METHODS.has(method)) return result('methodNotAllowed', 'InvalidRequestMethod', `The endpoint accepts ${[...ENDPOINT_METHODS].join(', ')}; not ${method}.`);
    if (segments.length === 0) return result('emptyRoute', 'EmptyRoute', 'The path names no route after the base path.');
    if (!token) return result('unknownSecret', 'AuthenticationFailed', 'No token has this secret (or it was rotated away).');
    if (token.isDisabled) return result('disabled', 'AuthenticationFailed', `The token '${token.name}' is disabled.`);
    if (hasExpired(token.expiresAt)) {
      const end = new Date(token.expiresAt!).toISOString();
      return token.viaPreviousSecret && token.previousSecretExpiresAt === token.expiresAt
        ? result('expired', 'AuthenticationFailed', `This is the previous secret of the token '${token.name}'; its grace period ended at ${end}.`)
        : result('expired', 'AuthenticationFailed', `The token '${token.name}' expired at ${end}.`);
    }
    let rateLimitChecked = true;
    if (token.rateLimit) {
      if (rateLimits.peek) {
        const verdict = await rateLimits.peek(`token:${token.id}`, token.rateLimit.limit, token.rateLimit.windowSeconds * 1000);
        if (!verdict.allowed) {
          return result('rateLimited', 'RateLimitExceeded', `The token '${token.name}' used its ${token.rateLimit.limit} requests per ${token.rateLimit.windowSeconds} s; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s.`, true);
        }
      } else {
        rateLimitChecked = false;
      }
    }
    if (!matched) return result('noDefinition', 'DefinitionNotFound', 'No API definition matches this path.', rateLimitChecked);
    // Nothing about a definition (its route, its action) reaches a user who may not read definitions.
    const api = canReadDefinitions ? `the API '${matched.definition.route}'` : 'the API at this path';
    if (!matched.definition.allowedTokens.has(token.id)) {
      return result('notAllowed', 'AuthenticationFailed', `${capitalised(api)} does not allow the token '${token.name}'.`, rateLimitChecked);
    }
    const action = actions.get(matched.definition.actionMeta.name);
    if (!action || action.kind !== matched.definition.actionType) {
      const missing = canReadDefinitions ? `The ${matched.definition.actionType} '${matched.definition.actionMeta.name}' of this API` : 'The action of this API';
      return result('actionMissing', 'ActionNotFound', `${missing} is not registered on this instance.`, rateLimitChecked);
    }
    const grace = token.viaPreviousSecret ? ` This is the token's previous secret; it works until ${new Date(token.previousSecretExpiresAt!).toISOString()}.` : '';
    const runs = canReadDefinitions ? `the ${action.kind} '${action.name}' of ${api}` : `the action of ${api}`;
    return result('allowed', null, `The call would run ${runs}.${grace}`, rateLimitChecked);
  }

  private withoutBasePath(path: string): string {
    const base = this.deps.basePath;
    const lower = path.toLowerCase();
    if (lower === base.toLowerCase()) return '';
    return lower.startsWith(`${base.toLowerCase()}/`) ? path.slice(base.length) : path;
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function definitionOf(definition: CachedDefinition): { id: string; route: string } {
  return { id: definition.id, route: definition.route };
}
