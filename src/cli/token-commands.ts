// `udapi tokens ...`: list, create, update, disable, enable, rotate and delete, on TokenService. Each body goes
// through the admin API's own schema for that operation first, then the service: the same refusals, the same reasons.
import type { TokenCreateInput, TokenPatch, TokenRotateInput } from '../services/token-service';
import { tokenOperations } from '../http/token-routes';
import { bodyValidator, queryValidator } from '../http/validate';
import type { RateLimit, TokenMetadata } from '../types';
import {
  listOption,
  listOrNoneOption,
  stringOption,
  requiredOption,
  type CommandDef,
  type Invocation,
} from './command-line';
import { all, creating, table, TOKEN_COLUMNS, tokenRow } from './output';
import { printable } from './printable';

const RATE_LIMIT = 'REQUESTS/SECONDS, e.g. 10/60 (1-100 requests in 1-86400 seconds)';
const EXPIRES_AT = 'ISO-8601 date and time after which the secret is refused';
const SCOPE = 'a scope the token carries (a-z 0-9 : . _ -); repeat for more';
const METADATA = 'a JSON object about the token (at most 4 KB), e.g. \'{"team":"billing"}\'';

/** `--metadata`: a JSON object, or `null` (none) where `allowNull`. The rules on it are the service's. */
function metadataOption(invocation: Invocation, allowNull: boolean): TokenMetadata | null | undefined {
  const text = stringOption(invocation.values, 'metadata');
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null && allowNull) return null;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as TokenMetadata;
  } catch {
    // reported below
  }
  return invocation.fail(`--metadata takes a JSON object${allowNull ? ', or null' : ''} (got '${printable(text)}').`);
}

/** `--rate-limit`: REQUESTS/SECONDS, or `none` (no limit) where `allowNone`. */
function rateLimitOption(invocation: Invocation, allowNone: boolean): RateLimit | null | undefined {
  const text = stringOption(invocation.values, 'rate-limit');
  if (text === undefined) return undefined;
  if (allowNone && text === 'none') return null;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match)
    invocation.fail(
      `--rate-limit takes REQUESTS/SECONDS, e.g. 10/60${allowNone ? ', or none' : ''} (got '${printable(text)}').`,
    );
  return { limit: Number(match[1]), windowSeconds: Number(match[2]) };
}

const list: CommandDef = {
  name: 'tokens list',
  synopsis: '[--search TEXT] [--name NAME] [--scope SCOPE] [--disabled | --enabled]',
  summary: 'List tokens (newest first)',
  options: {
    search: 'names that contain TEXT, ignoring case',
    name: 'the tokens named exactly NAME',
    scope: 'the tokens that carry SCOPE',
    disabled: 'disabled tokens only',
    enabled: 'enabled tokens only (expired ones included)',
  },
  args: [],
  prepare(invocation) {
    const { values } = invocation;
    if (values.disabled === true && values.enabled === true) invocation.fail('Give --disabled or --enabled, not both.');
    const search = stringOption(values, 'search');
    const name = stringOption(values, 'name');
    const scopes = listOption(values, 'scope');
    if (scopes !== undefined && scopes.length > 1)
      invocation.fail('Give --scope once to list the tokens that carry it.');
    const scope = scopes?.[0];
    const isDisabled = values.disabled === true ? 'true' : values.enabled === true ? 'false' : undefined;
    const query = queryValidator<{ search?: string; name?: string; scope?: string; isDisabled?: boolean }>(
      tokenOperations.list.query,
    )({
      ...(search !== undefined && { search }),
      ...(name !== undefined && { name }),
      ...(scope !== undefined && { scope }),
      ...(isDisabled !== undefined && { isDisabled }),
    });
    return async ({ internals, show }) => {
      const tokens = await all((cursor) => internals.tokens.list(query, 500, cursor));
      show(tokens, () => table(tokens.map(tokenRow), TOKEN_COLUMNS));
    };
  },
};

const create: CommandDef = {
  name: 'tokens create',
  synopsis: '--name NAME [--rate-limit N/SECONDS] [--expires-at ISO] [--scope SCOPE]... [--metadata JSON]',
  summary: 'Create a token; prints its secret once',
  options: {
    name: 'the token name (required)',
    'rate-limit': RATE_LIMIT,
    'expires-at': EXPIRES_AT,
    scope: SCOPE,
    metadata: METADATA,
  },
  args: [],
  prepare(invocation) {
    const name = requiredOption(invocation, 'name');
    const rateLimit = rateLimitOption(invocation, false);
    const expiresAt = stringOption(invocation.values, 'expires-at');
    const scopes = listOption(invocation.values, 'scope');
    const metadata = metadataOption(invocation, false);
    const body = bodyValidator<TokenCreateInput>(tokenOperations.create.body)({
      name,
      ...(rateLimit && { rateLimit }),
      ...(expiresAt !== undefined && { expiresAt }),
      ...(scopes !== undefined && { scopes }),
      ...(metadata !== undefined && { metadata }),
    });
    return async ({ internals, ctx, show }) => {
      const { token, generatedSecret } = await creating(() => internals.tokens.create(body, ctx));
      show(
        { ...token, secret: generatedSecret },
        () =>
          `Created token ${printable(token.name)} (${token.id}).\nSecret (shown only this once; keep it safe):\n${generatedSecret}`,
      );
    };
  },
};

const update: CommandDef = {
  name: 'tokens update',
  synopsis:
    'ID [--name NAME] [--rate-limit N/SECONDS | none] [--expires-at ISO | never] [--scope SCOPE... | --no-scopes] [--metadata JSON | null]',
  summary: "Change a token's name, rate limit, expiry, scopes or metadata",
  options: {
    name: 'the new name',
    'rate-limit': `${RATE_LIMIT}; none removes the limit`,
    'expires-at': `${EXPIRES_AT}; never removes the expiry`,
    scope: `${SCOPE}; the scopes given replace the token's`,
    'no-scopes': 'removes every scope',
    metadata: `${METADATA}, replacing the token's; null removes it`,
  },
  args: ['ID'],
  prepare(invocation) {
    const [id] = invocation.args as [string];
    const name = stringOption(invocation.values, 'name');
    const rateLimit = rateLimitOption(invocation, true);
    const expiresAt = stringOption(invocation.values, 'expires-at');
    const scopes = listOrNoneOption(invocation, 'scope', 'no-scopes');
    const metadata = metadataOption(invocation, true);
    if ([name, rateLimit, expiresAt, scopes, metadata].every((value) => value === undefined))
      invocation.fail(
        '`udapi tokens update` needs at least one of --name, --rate-limit, --expires-at, --scope, --no-scopes, --metadata.',
      );
    const body = bodyValidator<TokenPatch>(tokenOperations.update.body)(
      {
        ...(name !== undefined && { name }),
        ...(rateLimit !== undefined && { rateLimit }),
        ...(expiresAt !== undefined && { expiresAt: expiresAt === 'never' ? null : expiresAt }),
        ...(scopes !== undefined && { scopes }),
        ...(metadata !== undefined && { metadata }),
      },
      id,
    );
    return async ({ internals, ctx, show }) => {
      const token = await internals.tokens.update(id, body, ctx);
      show(
        token,
        () => `Updated token ${printable(token.name)} (${token.id}).\n${table([tokenRow(token)], TOKEN_COLUMNS)}`,
      );
    };
  },
};

function disableOrEnable(disable: boolean): CommandDef {
  return {
    name: disable ? 'tokens disable' : 'tokens enable',
    synopsis: 'ID',
    summary: disable ? "Refuse a token's calls at once" : "Accept a token's calls again",
    options: {},
    args: ['ID'],
    prepare({ args: [id] }) {
      return async ({ internals, ctx, show }) => {
        const token = await internals.tokens.update(id!, { isDisabled: disable }, ctx);
        show(
          token,
          () => `Token ${printable(token.name)} (${token.id}) is ${token.isDisabled ? 'disabled' : 'enabled'}.`,
        );
      };
    },
  };
}

const rotate: CommandDef = {
  name: 'tokens rotate',
  synopsis: 'ID [--grace-until ISO]',
  summary: 'New secret (printed once); the old one works until ISO',
  options: { 'grace-until': 'the old secret keeps working until then (at most 90 days); left out: it stops at once' },
  args: ['ID'],
  prepare(invocation) {
    const [id] = invocation.args as [string];
    const grace = stringOption(invocation.values, 'grace-until');
    const body = bodyValidator<TokenRotateInput>(tokenOperations.rotate.body)(
      grace === undefined ? {} : { previousSecretExpiresAt: grace },
      id,
    );
    return async ({ internals, ctx, show }) => {
      const { token, generatedSecret } = await internals.tokens.rotate(id, body, ctx);
      const until = token.previousSecretExpiresAt
        ? `The previous secret works until ${token.previousSecretExpiresAt}.`
        : 'The previous secret no longer works.';
      show(
        { ...token, secret: generatedSecret },
        () =>
          `Rotated token ${printable(token.name)} (${token.id}). ${until}\nNew secret (shown only this once):\n${generatedSecret}`,
      );
    };
  },
};

const remove: CommandDef = {
  name: 'tokens delete',
  synopsis: 'ID',
  summary: 'Delete a token no definition allows',
  options: {},
  args: ['ID'],
  prepare({ args: [id] }) {
    return async ({ internals, ctx, show }) => {
      await internals.tokens.delete(id!, ctx);
      show({ deleted: id }, () => `Deleted token ${printable(id!)}.`);
    };
  },
};

export const TOKEN_COMMANDS: readonly CommandDef[] = [
  list,
  create,
  update,
  disableOrEnable(true),
  disableOrEnable(false),
  rotate,
  remove,
];
