// The last-use mongoose model: each instance's token uses of one interval, for the other instances to read back.
import { Schema, type Connection, type Model } from 'mongoose';

/**
 * Some of one instance's uses of one interval: at most LAST_USE_RECORD_SIZE tokens a document, so that a record
 * stays far below the document size limit. The token documents keep `lastUsedAt` (the source of truth, read by full
 * loads); these records only tell the other instances what changed, without a read of every token: FerretDB hands
 * only `{ _id }` filters to its store, so a query on `lastUsedAt` reads the whole token collection.
 */
export interface LastUseDoc {
  /** Random: two instances that share an instanceId never collide. */
  _id: string;
  /** The writing instance, for operators. */
  instanceId: string;
  /** When the instance wrote it (its clock): readers take what was written since their previous read. */
  at: Date;
  /** Token ids, and at the same index each one's newest use (ms since the epoch). */
  tokenIds: string[];
  usedAt: number[];
}

/** Tokens per record. */
export const LAST_USE_RECORD_SIZE = 1000;

const lastUseSchema = new Schema<LastUseDoc>(
  {
    _id: { type: String, required: true },
    instanceId: { type: String, required: true },
    at: { type: Date, required: true },
    tokenIds: { type: [String], required: true },
    usedAt: { type: [Number], required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);
lastUseSchema.index({ at: 1 });

export type LastUseModel = Model<LastUseDoc>;

export function lastUseModel(connection: Connection, collection: string): LastUseModel {
  const name = `UdapiLastUse_${collection}`;
  return (
    (connection.models[name] as LastUseModel | undefined) ??
    connection.model<LastUseDoc>(name, lastUseSchema, collection)
  );
}
