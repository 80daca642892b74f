// The change log: one document per stored change, keyed by a monotonically increasing revision.
import { Schema, type Connection, type Model } from 'mongoose';
import type { ObjectType } from '../types';

/** What a change record names: one object, or (after an import) everything, which every instance reloads. */
export type ChangedObjectType = ObjectType | typeof EVERYTHING;
export const EVERYTHING = 'Everything';

export interface ChangeDoc {
  /** The revision as a fixed-width decimal string (see revisionKey), inserted under the unique _id so it never repeats. */
  _id: string;
  objectType: ChangedObjectType;
  objectId: string;
  at: Date;
  /**
   * The object as stored by this change (null: deleted), so other instances apply it without reading the object,
   * which is a collection scan on FerretDB. Absent when the writer did not know it (they re-read the object).
   */
  state?: Record<string, unknown> | null;
  /** The writer's view fingerprint of the object before the change (catalog/view-fingerprint.ts); null: none. */
  before?: string | null;
}

const changeSchema = new Schema<ChangeDoc>(
  {
    _id: { type: String, required: true },
    objectType: { type: String, required: true },
    objectId: { type: String, required: true },
    at: { type: Date, required: true },
    state: { type: Schema.Types.Mixed },
    before: { type: String },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);

const KEY_WIDTH = 16; // Number.MAX_SAFE_INTEGER has 16 digits

/**
 * The stored key of a revision. Zero-padded so that string order is numeric order, and a string because
 * FerretDB's SQLite backend hands only string (and ObjectId) _id equality to SQLite, where an index can answer it
 * (the test database's launcher adds one: testdb/idindex.go); any other filter is matched after reading every record.
 */
export function revisionKey(revision: number): string {
  return String(revision).padStart(KEY_WIDTH, '0');
}

export function revisionOf(key: string): number {
  return Number(key);
}

export type ChangeModel = Model<ChangeDoc>;

export function changeModel(connection: Connection, collection: string): ChangeModel {
  const name = `UdapiChange_${collection}`;
  return (
    (connection.models[name] as ChangeModel | undefined) ?? connection.model<ChangeDoc>(name, changeSchema, collection)
  );
}
