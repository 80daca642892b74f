// Keeps "no definition allows a deleted token" true without transactions, between token deletes and definition writes.
import { AdminError } from '../errors';
import { findByIds } from '../database/by-ids';
import type { ApiTokenDoc, ApiTokenModel } from '../models/api-token';

/*
 * The protocol. There are no multi-document transactions (FerretDB v1 and standalone MongoDB have none), so
 * each side announces its intent with a single-document write and then reads the other side:
 *
 *   token delete:            W1 mark the token `deletingSince = now`   → R1 read the definitions that allow it
 *                            → links: unmark, refuse (TokenInUse)      → none: delete the token
 *   definition create/update: W2 write the definition                  → R2 read its allowed tokens
 *                            → one pending: wait until it resolves     → one gone: undo W2, refuse (InvalidAllowedTokens)
 *
 * Single-document reads and writes are linearizable, so either R1 sees W2 (the delete is refused) or R1 ran
 * before W2, hence W1 before R2, and R2 sees the mark or the deletion (the definition write is undone). Either
 * way no definition is left pointing at a deleted token. A delete that dies between W1 and its end leaves a
 * mark behind; marks older than PENDING_DELETE_TTL_MS are ignored, and a delete that ran that long gives up.
 * Only a definition writer that dies between W2 and its undo can leave a dangling id; the endpoint ignores ids
 * of tokens that do not exist, so that costs nothing but a stale entry in the list.
 */

export const PENDING_DELETE_TTL_MS = 60_000;
/** A delete must finish well inside the TTL, or a definition writer could stop waiting for it. */
export const DELETE_DEADLINE_MS = PENDING_DELETE_TTL_MS / 2;
const PENDING_POLL_MS = 20;
const PENDING_WAIT_MS = 10_000;
const ID_AND_MARK = { _id: 1, deletingSince: 1 } as const;

export function isPendingDelete(deletingSince: Date | null | undefined, now = Date.now()): boolean {
  return deletingSince instanceof Date && now - deletingSince.getTime() < PENDING_DELETE_TTL_MS;
}

/**
 * The ids among `ids` that name no token, waiting out tokens whose delete is in progress (they either vanish
 * or stay). This is R2 of the protocol, and also the up-front check of a definition write.
 */
export async function missingTokenIds(model: ApiTokenModel, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const deadline = Date.now() + PENDING_WAIT_MS;
  for (;;) {
    const rows = await findByIds<ApiTokenDoc, Pick<ApiTokenDoc, '_id' | 'deletingSince'>>(model, ids, ID_AND_MARK);
    const found = new Map(rows.map((row) => [row._id, row.deletingSince]));
    const now = Date.now();
    if (![...found.values()].some((since) => isPendingDelete(since, now))) return ids.filter((id) => !found.has(id));
    if (now > deadline)
      throw AdminError.of('ServiceUnavailable', 'A token this definition allows is being deleted; retry in a moment.');
    await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
  }
}
