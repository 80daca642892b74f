// Who may call what, in the endpoint's order of checks: the endpoint follows it to answer a call, explain to describe one.
import type { ActionRegistry, RegisteredAction } from '../actions/registry';
import { allowsToken, type CachedDefinition, type CachedToken, type Catalog } from '../catalog/catalog';
import { hasExpired } from '../domain/expiry';
import { isThenable, type MaybePromise } from '../shared/maybe-promise';
import type { RateLimitAnswer, RateLimitStore } from '../domain/rate-limit-store';
import { RateLimitStoreError } from '../errors';
import type { SecretVerifier } from '../security/secret-verifier';
import type { RateLimit } from '../types';
import { hasEveryScope } from '../catalog/token-grants';

/** What the checks after the request itself conclude, in the order they run. */
export type AccessVerdict =
  | 'allowed'
  | 'unknownSecret'
  | 'disabled'
  | 'expired'
  | 'rateLimited'
  | 'noDefinition'
  | 'notAllowed'
  | 'missingScope'
  | 'wrongSecret'
  | 'actionMissing'
  /** Host routes only: the token lacks a required scope. */
  | 'insufficientScope';

export interface AccessDecision {
  readonly verdict: AccessVerdict;
  /** The secret's token; undefined only for an unknown secret. */
  readonly token: CachedToken | undefined;
  /** The definition the path matched, once the checks got that far. */
  readonly definition: CachedDefinition | undefined;
  readonly routeParameters: Record<string, string> | undefined;
  /** The registered action, for `allowed`. */
  readonly action: RegisteredAction | undefined;
  /** For `rateLimited`: when the oldest counted request leaves the window. */
  readonly retryAfterMs: number;
  /**
   * False when the rate limit was not looked at: the checks ended before it, or explain met a store that cannot
   * answer without counting.
   */
  readonly rateLimitChecked: boolean;
}

/** A decision that lets the call through: everything the action needs is there. */
export interface AllowedAccess extends AccessDecision {
  readonly verdict: 'allowed';
  readonly token: CachedToken;
  readonly definition: CachedDefinition;
  readonly routeParameters: Record<string, string>;
  readonly action: RegisteredAction;
}

/** A decision that lets a call to a host route through (requireToken, verify): a token, no definition. */
export interface AllowedToken extends AccessDecision {
  readonly verdict: 'allowed';
  readonly token: CachedToken;
}

export function isAllowed(decision: AccessDecision): decision is AllowedAccess {
  return decision.verdict === 'allowed';
}

/**
 * A call counts against the token's rate limit and confirms the secret with bcrypt (once per secret and instance);
 * explain only looks at the rate limit (`peek`) and runs no bcrypt.
 */
export type AccessMode = 'call' | 'explain';

/** Where the checks note the token and definition as soon as they are known, for the caller's log line. */
export interface AccessProgress {
  tokenId: string | undefined;
  definitionId: string | undefined;
  /** A call's token's rate limit and what the store answered, for the RateLimit response headers. */
  rateLimit: RateLimit | undefined;
  rateLimitAnswer: RateLimitAnswer | undefined;
}

export interface AccessDeciderDeps {
  catalog: Catalog;
  verifier: SecretVerifier;
  actions: ActionRegistry;
  rateLimits: RateLimitStore;
}

/** The rate-limit counter of a token: the one key the endpoint counts under and explain looks at. */
export function rateLimitKey(tokenId: string): string {
  return `token:${tokenId}`;
}

/** A flood of unknown secrets gets this one object: nothing is allocated per refusal. */
const UNKNOWN_SECRET: AccessDecision = Object.freeze({
  verdict: 'unknownSecret',
  token: undefined,
  definition: undefined,
  routeParameters: undefined,
  action: undefined,
  retryAfterMs: 0,
  rateLimitChecked: false,
});

function decision(
  verdict: AccessVerdict,
  token: CachedToken,
  rateLimitChecked: boolean,
  matched?: { definition: CachedDefinition; routeParameters: Record<string, string> },
  action?: RegisteredAction,
  retryAfterMs = 0,
): AccessDecision {
  return {
    verdict,
    token,
    definition: matched?.definition,
    routeParameters: matched?.routeParameters,
    action,
    retryAfterMs,
    rateLimitChecked,
  };
}

/**
 * Synchronous unless a shared rate-limit store or bcrypt is waited for. A store that fails is a
 * `RateLimitStoreError` (the endpoint fails closed on it); a bcrypt failure is passed on as it is.
 */
export class AccessDecider {
  constructor(private readonly deps: AccessDeciderDeps) {}

  /**
   * `segments`: the path of a call to a user-defined API; null for a host route (requireToken, verify), which has no
   * definition: the token's scopes are checked against `requiredScopes` instead.
   */
  decide(
    secret: string,
    segments: readonly string[] | null,
    mode: AccessMode,
    progress?: AccessProgress,
    requiredScopes: readonly string[] | null = null,
  ): MaybePromise<AccessDecision> {
    const token = this.deps.verifier.lookup(secret);
    // Unknown, disabled and expired: the endpoint gives one answer, so that a caller learns nothing about which.
    if (!token) return UNKNOWN_SECRET;
    if (token.isDisabled) return decision('disabled', token, false);
    if (hasExpired(token.expiresAt)) return decision('expired', token, false);
    if (progress) progress.tokenId = token.id;
    const limit = token.rateLimit;
    if (!limit) return this.afterRateLimit(secret, segments, mode, token, true, progress, requiredScopes);
    const { rateLimits } = this.deps;
    let answer: MaybePromise<RateLimitAnswer> | PromiseLike<RateLimitAnswer>;
    try {
      if (mode === 'call') answer = rateLimits.hit(rateLimitKey(token.id), limit.limit, limit.windowSeconds * 1000);
      else if (rateLimits.peek)
        answer = rateLimits.peek(rateLimitKey(token.id), limit.limit, limit.windowSeconds * 1000);
      else return this.afterRateLimit(secret, segments, mode, token, false, progress, requiredScopes);
    } catch (error) {
      throw new RateLimitStoreError(error);
    }
    // The memory store answers synchronously; only a real promise (a shared store) is waited for.
    if (!isThenable(answer)) return this.withRateLimit(answer, secret, segments, mode, token, progress, requiredScopes);
    return Promise.resolve(answer).then(
      (settled) => this.withRateLimit(settled, secret, segments, mode, token, progress, requiredScopes),
      (error: unknown) => {
        throw new RateLimitStoreError(error);
      },
    );
  }

  private withRateLimit(
    answer: RateLimitAnswer,
    secret: string,
    segments: readonly string[] | null,
    mode: AccessMode,
    token: CachedToken,
    progress: AccessProgress | undefined,
    requiredScopes: readonly string[] | null,
  ): MaybePromise<AccessDecision> {
    if (progress && mode === 'call') {
      progress.rateLimit = token.rateLimit!;
      progress.rateLimitAnswer = answer;
    }
    if (!answer.allowed) return decision('rateLimited', token, true, undefined, undefined, answer.retryAfterMs);
    return this.afterRateLimit(secret, segments, mode, token, true, progress, requiredScopes);
  }

  private afterRateLimit(
    secret: string,
    segments: readonly string[] | null,
    mode: AccessMode,
    token: CachedToken,
    rateLimitChecked: boolean,
    progress: AccessProgress | undefined,
    requiredScopes: readonly string[] | null,
  ): MaybePromise<AccessDecision> {
    if (segments === null) return this.forHostRoute(secret, mode, token, rateLimitChecked, requiredScopes);
    const matched = this.deps.catalog.match(segments);
    if (!matched) return decision('noDefinition', token, rateLimitChecked);
    if (progress) progress.definitionId = matched.definition.id;
    if (!allowsToken(matched.definition.allowedTokens, token.id))
      return decision('notAllowed', token, rateLimitChecked, matched);
    const definitionScopes = matched.definition.requiredScopes;
    if (definitionScopes.length > 0 && !hasEveryScope(token.scopes, definitionScopes))
      return decision('missingScope', token, rateLimitChecked, matched);
    const { verifier } = this.deps;
    if (mode === 'explain' || verifier.isConfirmed(token)) return this.withAction(token, matched, rateLimitChecked);
    // bcrypt (once per secret and instance, however many calls wait for it) only for a call that would succeed.
    return verifier
      .confirm(secret, token)
      .then((confirmed) =>
        confirmed
          ? this.withAction(token, matched, rateLimitChecked)
          : decision('wrongSecret', token, rateLimitChecked, matched),
      );
  }

  /** A host route: the scopes it requires, then bcrypt as for a call (once per secret and instance). */
  private forHostRoute(
    secret: string,
    mode: AccessMode,
    token: CachedToken,
    rateLimitChecked: boolean,
    requiredScopes: readonly string[] | null,
  ): MaybePromise<AccessDecision> {
    if (requiredScopes !== null && !hasEveryScope(token.scopes, requiredScopes))
      return decision('insufficientScope', token, rateLimitChecked);
    const { verifier } = this.deps;
    if (mode === 'explain' || verifier.isConfirmed(token)) return decision('allowed', token, rateLimitChecked);
    return verifier
      .confirm(secret, token)
      .then((confirmed) => decision(confirmed ? 'allowed' : 'wrongSecret', token, rateLimitChecked));
  }

  private withAction(
    token: CachedToken,
    matched: { definition: CachedDefinition; routeParameters: Record<string, string> },
    rateLimitChecked: boolean,
  ): AccessDecision {
    const action = this.deps.actions.get(matched.definition.actionMeta.name);
    if (!action || action.kind !== matched.definition.actionType)
      return decision('actionMissing', token, rateLimitChecked, matched);
    return decision('allowed', token, rateLimitChecked, matched, action);
  }
}
