// The usage mongoose model: calls per token, definition and minute or hour, one document per instance and bucket.
import { Schema, type Connection, type Model } from 'mongoose';

export type UsageBucketSize = 'minute' | 'hour';

/**
 * One instance's counts for one token, definition and bucket. Each instance writes only its own documents (its id
 * is part of `_id`), so concurrent `$inc`s never meet on one document: FerretDB loses those. Reads sum instances.
 */
export interface UsageDoc {
  /** `${size}|${at ms}|${instanceId}|${tokenId}|${definitionId}`. */
  _id: string;
  size: UsageBucketSize;
  /** The bucket's start. */
  at: Date;
  instanceId: string;
  /** '' for calls that no token authenticated. */
  tokenId: string;
  /** '' for calls that matched no definition. */
  definitionId: string;
  /** Calls answered below 400, 400-499 (499: the client went away) and 500 and over. */
  ok: number;
  clientErrors: number;
  serverErrors: number;
  /** The sum of the calls' durations, from arrival to the response. */
  durationMs: number;
  /** Refusals by reason (AuthFailureReason, or the endpoint error name): a few keys at most. */
  refusals?: Record<string, number>;
  /** When the prune removes it. */
  expiresAt: Date;
}

const usageSchema = new Schema<UsageDoc>(
  {
    _id: { type: String, required: true },
    size: { type: String, required: true },
    at: { type: Date, required: true },
    instanceId: { type: String, required: true },
    tokenId: { type: String, required: true },
    definitionId: { type: String, required: true },
    ok: { type: Number, required: true },
    clientErrors: { type: Number, required: true },
    serverErrors: { type: Number, required: true },
    durationMs: { type: Number, required: true },
    refusals: { type: Schema.Types.Mixed },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);
usageSchema.index({ size: 1, at: 1 });
usageSchema.index({ tokenId: 1, size: 1, at: 1 });
usageSchema.index({ definitionId: 1, size: 1, at: 1 });
usageSchema.index({ expiresAt: 1 });

export type UsageModel = Model<UsageDoc>;

export function usageModel(connection: Connection, collection: string): UsageModel {
  const name = `UdapiUsage_${collection}`;
  return (
    (connection.models[name] as UsageModel | undefined) ?? connection.model<UsageDoc>(name, usageSchema, collection)
  );
}
