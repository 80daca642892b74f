// Opaque keyset cursors over (time field descending, _id descending), shared by every list of the admin API.
import { AdminError } from '../errors';
import { isUuid } from '../domain/validation-rules';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

interface CursorPosition {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.getTime(), id]), 'utf8').toString('base64url');
}

/** The largest distance from the epoch, in ms, that a JavaScript Date (and so a BSON date from one) can hold. */
const MAX_DATE_MS = 8.64e15;

/**
 * Reads a cursor back, checking every part: a time a Date can hold and an id of the shape every list's ids have
 * (a UUID). A cursor is client input: anything else reached the query as an Invalid Date and failed as a 500.
 */
export function decodeCursor(cursor: string): CursorPosition {
  const invalid = AdminError.of(
    'InvalidRequest',
    'The cursor is not one this API returned; start again without a cursor.',
    { field: 'cursor' },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid;
  const [time, id] = parsed as unknown[];
  if (!Number.isSafeInteger(time) || Math.abs(time as number) > MAX_DATE_MS) throw invalid;
  if (typeof id !== 'string' || !isUuid(id)) throw invalid;
  return { at: new Date(time as number), id };
}

/** The filter that continues after the cursor position in (timeField desc, _id desc) order. */
export function afterCursor(timeField: string, cursor: string | undefined): Record<string, unknown> {
  if (cursor === undefined) return {};
  const position = decodeCursor(cursor);
  return {
    $or: [{ [timeField]: { $lt: position.at } }, { [timeField]: position.at, _id: { $lt: position.id } }],
  };
}

/** Runs one page: fetches one extra row to know whether another page follows. */
export async function pageOf<Doc extends { _id: string }, Out>(
  fetch: (limit: number) => Promise<Doc[]>,
  limit: number,
  timeOf: (doc: Doc) => Date,
  map: (doc: Doc) => Out,
): Promise<{ items: Out[]; nextCursor: string | null }> {
  const rows = await fetch(limit + 1);
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    nextCursor: hasMore && last ? encodeCursor(timeOf(last), last._id) : null,
  };
}
