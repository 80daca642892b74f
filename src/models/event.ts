// The information-event mongoose model (the audit trail readable at GET /events).
import { Schema, type Connection, type Model } from 'mongoose';
import type { ChangeEvent } from '../types';

/** A stored event: the public event with `_id` for `id`, a Date for `at`, and no constant `name`. */
export type EventDoc = Omit<ChangeEvent, 'id' | 'name' | 'at'> & { _id: string; at: Date };

const eventSchema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    objectType: { type: String, required: true },
    action: { type: String, required: true },
    objectId: { type: String, required: true },
    tokenName: { type: String },
    route: { type: String },
    user: { type: String, required: true },
    at: { type: Date, required: true },
    message: { type: String, required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);
// Newest first, per object type; retention pruning also walks `at`.
eventSchema.index({ at: -1, _id: -1 });
eventSchema.index({ objectType: 1, at: -1, _id: -1 });
eventSchema.index({ objectId: 1 });

export type EventModel = Model<EventDoc>;

export function eventModel(connection: Connection, collection: string): EventModel {
  const name = `UdapiEvent_${collection}`;
  return (
    (connection.models[name] as EventModel | undefined) ?? connection.model<EventDoc>(name, eventSchema, collection)
  );
}

export function toChangeEvent(doc: EventDoc): ChangeEvent {
  const event: ChangeEvent = {
    id: doc._id,
    name: 'User-defined APIs',
    objectType: doc.objectType,
    action: doc.action,
    objectId: doc.objectId,
    user: doc.user,
    at: doc.at.toISOString(),
    message: doc.message,
  };
  if (doc.tokenName !== undefined) event.tokenName = doc.tokenName;
  if (doc.route !== undefined) event.route = doc.route;
  return event;
}
