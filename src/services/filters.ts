// The audit-field filters that token and definition lists share (who created or changed it, and when).

/** Time bounds are `from` inclusive, `to` exclusive. */
export interface AuditFilter {
  createdBy?: string;
  lastModifiedBy?: string;
  createdAtFrom?: Date;
  createdAtTo?: Date;
  lastModifiedFrom?: Date;
  lastModifiedTo?: Date;
}

/** The query conditions of the audit fields of a filter. */
export function timeRanges(filter: AuditFilter): Record<string, unknown> {
  const range = (from?: Date, to?: Date): Record<string, Date> | undefined =>
    from || to ? { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } : undefined;
  const query: Record<string, unknown> = {};
  if (filter.createdBy !== undefined) query.createdBy = filter.createdBy;
  if (filter.lastModifiedBy !== undefined) query.lastModifiedBy = filter.lastModifiedBy;
  const created = range(filter.createdAtFrom, filter.createdAtTo);
  if (created) query.createdAt = created;
  const modified = range(filter.lastModifiedFrom, filter.lastModifiedTo);
  if (modified) query.lastModified = modified;
  return query;
}

/** The id filters of a list: one `id`, several `ids` (both: the ids that are both). */
export interface IdFilter {
  id?: string;
  ids?: string[];
}

/** The `_id` condition of an id filter, or undefined when it has none. */
export function idCondition(filter: IdFilter): unknown {
  const single = filter.id?.toLowerCase();
  if (filter.ids === undefined) return single;
  const ids = filter.ids.map((id) => id.toLowerCase());
  return { $in: single === undefined ? ids : ids.filter((id) => id === single) };
}

/** The same as idCondition, for objects in memory. */
export function idMatcher(filter: IdFilter): (id: string) => boolean {
  const single = filter.id?.toLowerCase();
  const ids = filter.ids && new Set(filter.ids.map((id) => id.toLowerCase()));
  return (id) => (single === undefined || id === single) && (ids === undefined || ids.has(id));
}

/** A case-insensitive "contains" condition for a free-text search; the text is matched literally, never as a pattern. */
export function containsCondition(text: string): { $regex: string; $options: 'i' } {
  return { $regex: text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), $options: 'i' };
}

/** The same as containsCondition, for a value in memory; `lowerText` is the search text in lower case. */
export function containsText(value: string | undefined, lowerText: string): boolean {
  return value !== undefined && value.toLowerCase().includes(lowerText);
}
