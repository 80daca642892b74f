// Checks the scopes a host route requires (requireToken, verify) and builds the one 403 that names them.
import { EndpointError, OptionsError } from '../errors';
import type { HostRouteRule } from '../endpoint/authorization';
import { scopesProblem, SCOPES_MAX_COUNT } from '../domain/validation-rules';

/** Validates `scopes` of requireToken() or verify(); `where` names the option in the error. */
export function hostRouteRule(scopes: unknown, where: string): HostRouteRule {
  if (scopes === undefined) return { scopes: null, refusal: new EndpointError('InsufficientScope') };
  if (!Array.isArray(scopes))
    throw new OptionsError(
      `\`${where}\` must be an array of at most ${SCOPES_MAX_COUNT} scopes, e.g. ['reports:read'].`,
    );
  const problem = scopesProblem(scopes as string[]);
  if (problem !== null) throw new OptionsError(`\`${where}\`: ${problem}`);
  const list = Object.freeze([...(scopes as string[])]);
  return {
    scopes: list.length > 0 ? list : null,
    refusal: new EndpointError('InsufficientScope', list.length > 0 ? { scope: list.join(' ') } : {}),
  };
}
