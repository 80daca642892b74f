// Records every answer of the test apps' admin routers and checks it against the admin OpenAPI document: a documented
// status and error reason of the operation that answered, and a body of the documented shape.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { ErrorReasons, type ErrorReason } from '../../src/errors';
import { unmatchedRequestReasons } from '../../src/http/admin-router';
import { adminOpenApiDocument } from '../../src/http/openapi';
import { ADMIN_OPERATIONS } from '../../src/http/reference-routes';

interface DocumentedResponse {
  'x-error-reasons'?: ErrorReason[];
  content?: Record<string, { schema: object }>;
}
interface DocumentedOperation {
  operationId: string;
  responses: Record<string, DocumentedResponse>;
}
interface Document {
  paths: Record<string, Record<string, DocumentedOperation>>;
  components: object;
}

/** Bodies past this size are not kept, so not checked (a large export); their status still is. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_REPORTED = 30;

let state:
  | {
      document: Document;
      templates: { pattern: RegExp; template: string }[];
      ajv: Ajv2020;
      validators: Map<string, ValidateFunction>;
    }
  | undefined;

const observed = new Map<string, number>();
const problems: string[] = [];
let problemCount = 0;

function loaded(): NonNullable<typeof state> {
  if (state) return state;
  const document = adminOpenApiDocument(ADMIN_OPERATIONS, '/admin/udapi') as Document;
  // Literal segments before parameters, as the routers register them (/tokens/count before /tokens/:id).
  const templates = Object.keys(document.paths)
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
    .map((template) => ({
      template,
      // Express matches paths ignoring case and one trailing slash.
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
    }));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat(
    'date-time',
    (value: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) &&
      !Number.isNaN(Date.parse(value)),
  );
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addSchema({ $id: 'admin', components: document.components });
  state = { document, templates, ajv, validators: new Map() };
  return state;
}

/** Moves a schema taken out of the document under the `admin` schema, so its `#/components/...` references resolve. */
function rebase(schema: object): object {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"admin#/components/')) as object;
}

function validatorFor(key: string, schema: object): ValidateFunction {
  const { ajv, validators } = loaded();
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ $id: `conformance-${key}`, ...rebase(schema) });
    validators.set(key, validate);
  }
  return validate;
}

function report(found: string[]): void {
  for (const problem of found) {
    problemCount++;
    if (problems.length < MAX_REPORTED) problems.push(problem);
  }
}

function reasonsOf(body: unknown): string[] {
  const errors = (body as { errors?: { reason?: unknown }[] } | null)?.errors;
  return Array.isArray(errors) ? errors.map((error) => String(error?.reason)) : [];
}

/**
 * What one answer of the admin router breaks of the document (nothing: []). `path` is relative to the router's mount
 * point; `text` is the body, undefined when it was too large to keep.
 */
export function checkAnswer(method: string, path: string, status: number, type: string, text?: string): string[] {
  const found: string[] = [];
  const report = (problem: string): void => void found.push(problem);
  const { document, templates } = loaded();
  const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
  const template = templates.find((entry) => entry.pattern.test(path))?.template;
  const operation = template === undefined ? undefined : document.paths[template]![verb];
  const where = `${method} ${path} → ${status}`;
  const body = text === undefined || text === '' || method === 'HEAD' ? undefined : parse(text);
  if (!operation) {
    // No operation takes it: NotFound or a reason of a step before the routes, in the error body.
    const allowed = unmatchedRequestReasons(method);
    const reasons = reasonsOf(body);
    if (
      method !== 'HEAD' &&
      (reasons.length === 0 || !reasons.every((reason) => allowed.includes(reason as ErrorReason)))
    )
      report(
        `${where}: no operation takes it, and it answered reasons ${JSON.stringify(reasons)}, not one of ${allowed.join(', ')}`,
      );
    if (!allowed.some((reason) => ErrorReasons[reason].status === status))
      report(`${where}: no operation takes it, and ${status} is no status of ${allowed.join(', ')}`);
    return found;
  }
  const response = operation.responses[String(status)];
  if (!response) {
    report(
      `${where}: ${operation.operationId} does not document ${status} (it documents ${Object.keys(operation.responses).join(', ')})`,
    );
    return found;
  }
  const schema = response.content?.['application/json']?.schema;
  if (method === 'HEAD' || text === undefined) return found;
  if (!schema) {
    if (text !== '') report(`${where}: ${operation.operationId} documents no body for ${status}, and one came`);
    return found;
  }
  if (!/^application\/json/.test(type)) report(`${where}: documented as JSON, sent as '${type}'`);
  const validate = validatorFor(`${operation.operationId}-${status}`, schema);
  if (!validate(body))
    report(
      `${where}: the body does not match ${operation.operationId}'s ${status} schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`,
    );
  const documented = response['x-error-reasons'];
  if (documented) {
    const all = new Set(Object.values(operation.responses).flatMap((entry) => entry['x-error-reasons'] ?? []));
    const [first, ...rest] = reasonsOf(body);
    if (!documented.includes(first as ErrorReason))
      report(
        `${where}: reason ${first} is not among the documented ${status} reasons of ${operation.operationId}: ${documented.join(', ')}`,
      );
    const undocumented = rest.filter((reason) => !all.has(reason as ErrorReason));
    if (undocumented.length > 0)
      report(`${where}: reasons ${undocumented.join(', ')} are not documented for ${operation.operationId}`);
  }
  return found;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Mounted before a test app's admin router (same path): notes each answer it sends. An answer cut off (the client
 * went away, an export failed midway) is not checked.
 */
export function observeAdmin(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const { method, path } = req;
    if (/^\/ui(\/|$)/i.test(path)) {
      next(); // the admin UI's files: not operations
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (chunk: unknown, encoding: unknown): void => {
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return;
      const buffer =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : Buffer.from(chunk);
      size += buffer.length;
      if (size <= MAX_BODY_BYTES) chunks.push(buffer);
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return write(chunk, ...rest);
    }) as Response['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk, rest[0]);
      return end(chunk, ...rest);
    }) as Response['end'];
    res.on('finish', () => {
      const key = `${method} ${path.replace(/\/[0-9a-f-]{36}(?=\/|$)/gi, '/{id}')} ${res.statusCode}`;
      observed.set(key, (observed.get(key) ?? 0) + 1);
      const text = size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined;
      report(checkAnswer(method, path, res.statusCode, String(res.getHeader('content-type') ?? ''), text));
    });
    next();
  };
}

/** What the file's admin answers broke of the document (empty when they kept to it). */
export function conformanceProblems(): string[] {
  return problemCount > problems.length
    ? [...problems, `... and ${problemCount - problems.length} more`]
    : [...problems];
}

/** (method, path with ids as {id}, status) answered so far in this file, with their counts. */
export function observedAnswers(): ReadonlyMap<string, number> {
  return observed;
}
