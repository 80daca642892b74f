// Helpers that turn validated query values into service arguments.
import { AdminError } from '../errors';
import type { AuditFilter } from '../services/filters';
import { DEFAULT_PAGE_SIZE } from '../services/pagination';

/** A date-time query value (already matched against the schema's pattern) as a Date. */
export function dateParam(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time))
    throw AdminError.of('InvalidRequest', `Query parameter '${field}' is not a valid date.`, { field });
  return new Date(time);
}

/** The comma-separated `ids` query value (already matched against the schema's pattern) as a list. */
export function idList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',');
}

export function pageSize(limit: number | undefined): number {
  return limit ?? DEFAULT_PAGE_SIZE;
}

/** The audit-field filters (createdBy, lastModifiedBy and the four time bounds) of a validated list query. */
export function auditFilterOf(query: AuditQuery): AuditFilter {
  const filter: AuditFilter = {};
  if (query.createdBy !== undefined) filter.createdBy = query.createdBy;
  if (query.lastModifiedBy !== undefined) filter.lastModifiedBy = query.lastModifiedBy;
  for (const field of ['createdAtFrom', 'createdAtTo', 'lastModifiedFrom', 'lastModifiedTo'] as const) {
    const date = dateParam(query[field], field);
    if (date) filter[field] = date;
  }
  return filter;
}

export interface AuditQuery {
  createdBy?: string;
  lastModifiedBy?: string;
  createdAtFrom?: string;
  createdAtTo?: string;
  lastModifiedFrom?: string;
  lastModifiedTo?: string;
}
