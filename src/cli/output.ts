// What the command line prints: tables of stored data (every cell escaped), lists read page by page, refusals.
import { AdminError, type AdminErrorItem } from '../errors';
import type { ApiDefinition, ApiToken, ChangeEvent } from '../types';
import { hasExpired } from '../domain/expiry';
import { printable, printableJson } from './printable';

/** Columns of stored data: every cell is escaped (printable) before it is measured and padded. */
export function table(rawRows: Record<string, string>[], columns: string[]): string {
  if (rawRows.length === 0) return '(none)';
  const rows = rawRows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([column, cell]) => [column, printable(cell)])),
  );
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(columns.map((column) => row[column] ?? ''))),
  ].join('\n');
}

export const TOKEN_COLUMNS = ['id', 'name', 'start', 'state', 'scopes', 'rate limit', 'expires', 'last used'];

export function tokenRow(token: ApiToken): Record<string, string> {
  const expired = token.expiresAt !== null && hasExpired(Date.parse(token.expiresAt));
  return {
    id: token.id,
    name: token.name,
    start: token.start ?? '-',
    state: token.isDisabled ? 'disabled' : expired ? 'expired' : 'enabled',
    scopes: token.scopes.length > 0 ? token.scopes.join(' ') : '-',
    'rate limit': token.rateLimit ? `${token.rateLimit.limit}/${token.rateLimit.windowSeconds}s` : '-',
    expires: token.expiresAt ?? 'never',
    'last used': token.lastUsedAt ?? 'never',
  };
}

export const DEFINITION_COLUMNS = ['id', 'route', 'action', 'tokens', 'name'];

export function definitionRow(definition: ApiDefinition): Record<string, string> {
  const inputType = definition.actionMeta.inputType;
  return {
    id: definition.id,
    route: definition.route,
    action: `${definition.actionType} ${definition.actionMeta.name}${inputType && inputType !== 'rawBody' ? ` (${inputType})` : ''}`,
    tokens: String(definition.securitySettings.allowedTokens.length),
    name: definition.name ?? '',
  };
}

export const EVENT_COLUMNS = ['at', 'action', 'type', 'object id', 'name or route', 'user'];

export function eventRow(event: ChangeEvent): Record<string, string> {
  return {
    at: event.at,
    action: event.action,
    type: event.objectType === 'ApiToken' ? 'token' : 'definition',
    'object id': event.objectId,
    'name or route': (event.objectType === 'ApiToken' ? event.tokenName : event.route) ?? '',
    user: event.user,
  };
}

/** Every page of a list, following the cursor, up to `max` items. */
export async function all<T>(
  page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
  max = Infinity,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor !== undefined && items.length < max);
  return items.slice(0, max);
}

/**
 * A failed create names no object. The services draw the new object's id before they check the input and put it in
 * every problem (the admin API answers it so); from the command line, which supplies no id, it would be the id of an
 * object that was never created: the problems go without it.
 */
export async function creating<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    throw new AdminError(error.items.map(({ id: _id, ...item }): AdminErrorItem => item));
  }
}

/** A refusal's lines for standard error: `Reason (field) id: message` each, or `{"errors": [...]}` with --json. */
export function refusal(error: AdminError, json: boolean): string {
  // Messages quote stored data (a conflicting route) and ids from the command line: escaped like everything else.
  if (json) return printableJson(JSON.stringify({ errors: error.items }, null, 2));
  return error.items
    .map((item) =>
      printable(
        `${item.reason}${item.field ? ` (${item.field})` : ''}${item.id ? ` ${item.id}` : ''}: ${item.message}`,
      ),
    )
    .join('\n');
}
