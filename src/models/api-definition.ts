// The ApiDefinition mongoose model, bound to the host's connection, and its mapping to the public shape.
import { Schema, type Connection, type Model } from 'mongoose';
import { parseStoredInput } from '../domain/input-schema';
import type { ActionMeta, ActionType, ApiDefinition } from '../types';

export interface ApiDefinitionDoc {
  _id: string;
  name?: string;
  description?: string;
  route: string;
  /** The conflict key of the route (see parseRoute); unique. */
  routeKey: string;
  /** The route folded to lower case, for case-insensitive route filters. */
  routeLower: string;
  /** requiredScopes is absent in documents older than scopes: none. */
  securitySettings: { allowedTokens: string[]; requiredScopes?: string[] };
  actionType: ActionType;
  actionMeta: ActionMeta;
  /**
   * The input schemas as JSON text: a schema's `$ref`, `$defs` and property names with dots cannot be field names
   * in every database. Absent: none.
   */
  inputSchemas?: string;
  createdBy: string;
  createdAt: Date;
  lastModifiedBy: string;
  lastModified: Date;
}

const apiDefinitionSchema = new Schema<ApiDefinitionDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String },
    description: { type: String },
    route: { type: String, required: true },
    routeKey: { type: String, required: true },
    routeLower: { type: String, required: true },
    securitySettings: {
      allowedTokens: { type: [String], default: [] },
      requiredScopes: { type: [String], default: undefined },
    },
    actionType: { type: String, required: true },
    actionMeta: { name: { type: String, required: true }, inputType: { type: String } },
    inputSchemas: { type: String },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastModifiedBy: { type: String, required: true },
    lastModified: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: true, bufferCommands: false },
);
// Route uniqueness under concurrency: two conflicting routes share a key, and only one insert can win.
apiDefinitionSchema.index({ routeKey: 1 }, { unique: true });
apiDefinitionSchema.index({ 'securitySettings.allowedTokens': 1 });
apiDefinitionSchema.index({ createdAt: -1, _id: -1 });

export type ApiDefinitionModel = Model<ApiDefinitionDoc>;

export function apiDefinitionModel(connection: Connection, collection: string): ApiDefinitionModel {
  const name = `UdapiApiDefinition_${collection}`;
  return (
    (connection.models[name] as ApiDefinitionModel | undefined) ??
    connection.model<ApiDefinitionDoc>(name, apiDefinitionSchema, collection)
  );
}

export function toApiDefinition(doc: ApiDefinitionDoc): ApiDefinition {
  const definition: ApiDefinition = {
    id: doc._id,
    route: doc.route,
    securitySettings: securitySettingsOf(doc),
    actionType: doc.actionType,
    actionMeta:
      doc.actionType === 'handler'
        ? { name: doc.actionMeta.name, inputType: doc.actionMeta.inputType ?? 'rawBody' }
        : { name: doc.actionMeta.name },
    createdBy: doc.createdBy,
    createdAt: doc.createdAt.toISOString(),
    lastModifiedBy: doc.lastModifiedBy,
    lastModified: doc.lastModified.toISOString(),
  };
  if (doc.name !== undefined && doc.name !== null) definition.name = doc.name;
  if (doc.description !== undefined && doc.description !== null) definition.description = doc.description;
  const input = parseStoredInput(doc.inputSchemas);
  if (input !== null) definition.input = input;
  return definition;
}

/** A copy of the stored security settings in the public shape (no required scopes in older documents: none). */
export function securitySettingsOf(doc: Pick<ApiDefinitionDoc, 'securitySettings'>): ApiDefinition['securitySettings'] {
  return {
    allowedTokens: [...doc.securitySettings.allowedTokens],
    requiredScopes: [...(doc.securitySettings.requiredScopes ?? [])],
  };
}
