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
