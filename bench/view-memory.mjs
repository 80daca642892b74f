// node --expose-gc bench/view-memory.mjs: the in-memory view's live memory (heap and array buffers) per token and per definition, without a database.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { Catalog } from '../dist/catalog/catalog.js';
import { collectGarbage } from './collect-garbage.mjs';
import { seededToken } from './seed-rows.mjs';

const { BSON } = mongoose.mongo;

/** Sizes as in the bench (VIEW_TOKENS and VIEW_DEFINITIONS change them). */
const TOKENS = Number(process.env.VIEW_TOKENS ?? 100_000);
const DEFINITIONS = Number(process.env.VIEW_DEFINITIONS ?? 10_000);
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

if (typeof globalThis.gc !== 'function') {
  console.error('Run with node --expose-gc (npm run bench:memory does).');
  process.exit(1);
}

const pepper = randomBytes(32);
/** A well-formed bcrypt hash of its own per token, as real tokens have (the bench's seed shares one value). */
function fakeBcryptHash() {
  const bytes = randomBytes(53);
  let text = '$2b$10$';
  for (const byte of bytes) text += BCRYPT_ALPHABET[byte % 64];
  return text;
}

/** A token row as the bench seeds it, with a digest and a hash of its own; `at` spaces creation times a second apart. */
function tokenRow(i, id, at) {
  const secretDigest = createHmac('sha256', pepper).update(randomBytes(32)).digest('base64url');
  return seededToken(i, { id, at, secretDigest, secretHash: fakeBcryptHash() });
}

function definitionDoc(i, tokenIds, at) {
  const route = i % 2 === 0 ? `bench/s${i}/leaf` : `bench/d${i}/{id}/x`;
  return {
    _id: randomUUID(),
    route,
    securitySettings: { allowedTokens: [tokenIds[i % tokenIds.length], tokenIds[0]] },
    actionType: 'handler',
    actionMeta: { name: 'bench.ping', inputType: 'rawBody' },
    createdBy: 'seed',
    createdAt: at,
    lastModifiedBy: 'seed',
    lastModified: at,
  };
}

/** Rows through BSON and back, one at a time, so that every string and date is its own object as the driver gives it. */
async function* asStored(count, make) {
  for (let i = 0; i < count; i += 1) yield BSON.deserialize(BSON.serialize(make(i)));
}

/** A model as the catalog's load uses it: find().lean().cursor() yields the rows. */
function modelOf(count, make) {
  return { find: () => ({ lean: () => ({ cursor: () => asStored(count, make) }) }) };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function liveHeap() {
  await collectGarbage();
  // The view's token columns are typed arrays, whose bytes live outside the JavaScript heap: both count.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

async function loadedCatalog(tokens, definitions) {
  const base = Date.now() - tokens * 1000;
  // Dropped after the load: the catalog keeps its models, and the view must hold the only copies of the ids.
  const seed = { tokenIds: Array.from({ length: Math.max(tokens, 1) }, () => randomUUID()) };
  const catalog = new Catalog(
    modelOf(tokens, (i) => tokenRow(i, seed.tokenIds[i], new Date(base + i * 1000))),
    modelOf(definitions, (i) => definitionDoc(i, seed.tokenIds, new Date())),
    '/api/custom',
    silent,
  );
  await catalog.load();
  seed.tokenIds = null;
  return catalog;
}

async function heapWith(tokens, definitions) {
  const catalog = await loadedCatalog(tokens, definitions);
  const heap = await liveHeap();
  if (catalog.tokenCount !== tokens || catalog.definitionCount !== definitions)
    throw new Error('the view is incomplete');
  return heap;
}

const empty = await heapWith(0, 0);
const tokensOnly = await heapWith(TOKENS, 0);
const both = await heapWith(TOKENS, DEFINITIONS);
const perToken = (tokensOnly - empty) / TOKENS;
const perDefinition = DEFINITIONS > 0 ? (both - tokensOnly) / DEFINITIONS : 0;
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
console.log(
  `In-memory view: ${Math.round(perToken)} bytes per token, ${Math.round(perDefinition)} per definition ` +
    `(live heap and array buffers ${mib(tokensOnly - empty)} MiB for ${TOKENS} tokens, ${mib(both - tokensOnly)} MiB more for ${DEFINITIONS} definitions).`,
);
