// Suite-wide leak check: every stored secret, its digest, and any bcrypt hash, searched for in every response,
// log line, event and process output of the test file. The one-time secret of a create or rotation is the exception.
import { ServerResponse, type IncomingMessage } from 'node:http';
import * as secrets from '../../src/domain/secrets';
import { leakSources, seedsToReplay } from '../helpers/leak-registry';
import { leaksIn, maskBackupFields } from '../helpers/leak-scanner';

const MAX_CAPTURED_BYTES = 1024 * 1024;

const digests = new Map<string, string>();
const storedSecrets = new Set<string>();
const responses: string[] = [];

// Every digest the package computes, so a stored secret's digest can be looked up by its secret.
const originalDigest = secrets.digestSecret;
(secrets as { digestSecret: typeof originalDigest }).digestSecret = (pepper, secret) => {
  const digest = originalDigest(pepper, secret);
  if (digests.size < 1_000_000) digests.set(secret, digest);
  return digest;
};

type Captured = ServerResponse & { leakChunks?: Buffer[]; leakBytes?: number };

function capture(response: Captured, chunk: unknown, encoding?: unknown): void {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
  if (!Buffer.isBuffer(chunk) && typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return;
  const buffer =
    typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : Buffer.from(chunk);
  response.leakBytes = (response.leakBytes ?? 0) + buffer.length;
  if (response.leakBytes <= MAX_CAPTURED_BYTES) (response.leakChunks ??= []).push(buffer);
}

const originalWrite = ServerResponse.prototype.write;
ServerResponse.prototype.write = function write(this: Captured, chunk: unknown, ...rest: unknown[]) {
  capture(this, chunk, rest[0]);
  return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
} as typeof ServerResponse.prototype.write;

const originalEnd = ServerResponse.prototype.end;
ServerResponse.prototype.end = function end(this: Captured, chunk?: unknown, ...rest: unknown[]) {
  capture(this, chunk, rest[0]);
  record(this);
  return (originalEnd as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
} as typeof ServerResponse.prototype.end;

/** Notes the secrets a successful token write stored, and keeps the response text (one-time secret masked). */
function record(response: Captured): void {
  const req = response.req as (IncomingMessage & { body?: unknown }) | undefined;
  let text = Buffer.concat(response.leakChunks ?? []).toString('utf8');
  response.leakChunks = [];
  const isTokenWrite = req?.method !== 'GET' && /\/tokens(\/[^/?]+(\/rotate)?)?(\?|$)/.test(req?.url ?? '');
  if (isTokenWrite && response.statusCode < 300) {
    const sent = req?.body as { secret?: unknown } | undefined;
    if (typeof sent?.secret === 'string' && sent.secret !== '') storedSecrets.add(sent.secret);
    const generated = /"secret":"([^"]+)"/.exec(text);
    if (generated) {
      storedSecrets.add(generated[1]!);
      text = text.replace(generated[0], '"secret":"[one-time secret]"');
    }
  }
  // A backup is the documented exception for digests and hashes (never secrets): those fields alone are masked.
  if (req?.method === 'GET' && /\/export(\?|$)/.test(req.url ?? '') && response.statusCode === 200)
    text = maskBackupFields(text);
  // The request's query string is what the client sent (requireToken may take a secret there), not a response.
  const path = (req?.url ?? '?').replace(/\?.*$/s, '?[query]');
  responses.push(`${req?.method ?? '?'} ${path} ${JSON.stringify(response.getHeaders())} ${text}`);
}

function findLeaks(): string[] {
  const texts: { kind: string; text: string }[] = responses.map((text) => ({ kind: 'response', text }));
  for (const source of leakSources()) {
    for (const item of source.read())
      texts.push({ kind: source.kind, text: typeof item === 'string' ? item : JSON.stringify(item) });
  }
  const sensitive = new Map<string, string>();
  for (const secret of storedSecrets) {
    sensitive.set(secret, 'a secret');
    const digest = digests.get(secret);
    if (digest) sensitive.set(digest, 'a secret digest');
  }
  return leaksIn(texts, sensitive);
}

afterAll(() => {
  const leaks = findLeaks();
  // The generated inputs that led here can be replayed: the seeds go with the report.
  const seeds = seedsToReplay();
  expect(leaks.length === 0 ? [] : [...leaks, ...seeds.map((line) => `replay: ${line}`)]).toEqual([]);
});
