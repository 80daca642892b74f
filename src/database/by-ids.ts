// Reads the documents with a few given ids as point lookups, which every supported database answers from its _id index.
import type { Model } from 'mongoose';

/*
 * FerretDB's SQLite backend uses its _id index only for a plain `{_id: value}` filter: `{_id: {$in: [...]}}` reads
 * the whole collection. Checking a definition's allowed tokens that way took 20 s at 100,000 tokens under load
 * (two such reads per create), against milliseconds one id at a time. A long list (a backup's) still takes one read.
 */

/** Up to this many distinct ids are read one by one; more, with one `$in` read. */
export const POINT_LOOKUPS_MAX = 64;
/** Point lookups in flight at once, so that one request does not take the whole connection pool. */
const CONCURRENCY = 8;

/** The stored documents among `ids` (each once, in no particular order), with only the projected fields. */
export async function findByIds<Doc extends { _id: string }, Row extends Pick<Doc, '_id'>>(
  model: Model<Doc>,
  ids: readonly string[],
  projection: Readonly<Record<string, 1>>,
): Promise<Row[]> {
  const distinct = [...new Set(ids)];
  if (distinct.length === 0) return [];
  if (distinct.length > POINT_LOOKUPS_MAX)
    return model
      .find({ _id: { $in: distinct } }, projection)
      .lean<Row[]>()
      .exec();
  const rows: Row[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < distinct.length) {
      const id = distinct[next++]!;
      const row = await model.findOne({ _id: id }, projection).lean<Row>().exec();
      if (row) rows.push(row);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, distinct.length) }, worker));
  return rows;
}
