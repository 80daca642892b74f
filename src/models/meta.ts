// The store's metadata: a few documents keyed by name; today only the pepper check.
import { Schema, type Connection, type Model } from 'mongoose';
import type { PepperCheckValue } from '../domain/pepper-check';

/** The `_id` of the pepper check document. */
export const PEPPER_CHECK_ID = 'pepperCheck';

export interface PepperCheckDoc extends PepperCheckValue {
  _id: typeof PEPPER_CHECK_ID;
  /** The instance that recorded it, for operators. */
  recordedBy: string;
  recordedAt: Date;
}

const metaSchema = new Schema<PepperCheckDoc>(
  {
    _id: { type: String, required: true },
    algorithm: { type: String, required: true },
    N: { type: Number, required: true },
    r: { type: Number, required: true },
    p: { type: Number, required: true },
    salt: { type: String, required: true },
    value: { type: String, required: true },
    recordedBy: { type: String, required: true },
    recordedAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);

export type MetaModel = Model<PepperCheckDoc>;

export function metaModel(connection: Connection, collection: string): MetaModel {
  const name = `UdapiMeta_${collection}`;
  return (
    (connection.models[name] as MetaModel | undefined) ?? connection.model<PepperCheckDoc>(name, metaSchema, collection)
  );
}
