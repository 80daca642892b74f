// Where `req.udapi` lives: an accessor on Express's shared request prototype over a hidden slot of `res.locals`.
import { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import type { RequestTokenInfo } from '../types';

/*
 * Why not a plain `req.udapi = info`: Express gives each request object a hidden class of its own (it changes the
 * request's prototype and then adds properties), so every property added afterwards copies that class with its
 * descriptors (34 properties on Express 5's request) into the old generation: ~2.5 µs per request, measured
 * (docs/performance.md, Targets not met).
 * `res.locals` is a dictionary object Express makes per request, so a slot in it costs a hash insert. The slot is a
 * non-enumerable symbol, so templates rendered with `res.locals` never see it.
 */

/** Shared by every copy of the package in the process, so that two copies agree on one slot. */
const SLOT = Symbol.for('express-user-defined-apis.requestToken');

interface ExpressRequest {
  res?: { locals?: unknown };
}

function localsOf(req: ExpressRequest): Record<symbol, unknown> | null {
  const locals = req.res?.locals;
  return typeof locals === 'object' && locals !== null ? (locals as Record<symbol, unknown>) : null;
}

const ACCESSOR: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: ExpressRequest): unknown {
    return localsOf(this)?.[SLOT];
  },
  set(this: ExpressRequest, value: unknown): void {
    const locals = localsOf(this);
    // Without res.locals (not Express's request, or the host removed them), an own property as anywhere else.
    if (locals === null)
      Object.defineProperty(this, 'udapi', { value, writable: true, enumerable: true, configurable: true });
    else Object.defineProperty(locals, SLOT, { value, writable: true, enumerable: false, configurable: true });
  },
};

/** The prototype Express's `express.request` is: the last one above Node's IncomingMessage.prototype; else null. */
function expressRequestBase(proto: object): object | null {
  for (let current: object | null = proto; current !== null;) {
    const above: object | null = Object.getPrototypeOf(current) as object | null;
    if (above === IncomingMessage.prototype) return current;
    current = above;
  }
  return null;
}

/** Prototypes already looked at: one per Express application (its `app.request`), or Node's own. */
const seen = new WeakSet<object>();

/**
 * Sets `req.udapi`. On Express, the first request of each application installs the accessor on `express.request` (the
 * prototype Express documents for extending requests) unless something named `udapi` is already there; elsewhere, or
 * then, `req.udapi` is an own property as before.
 */
export function setRequestToken(req: Request, info: RequestTokenInfo): void {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto !== null && !seen.has(proto)) {
    seen.add(proto);
    const base = expressRequestBase(proto);
    if (base !== null && !Object.prototype.hasOwnProperty.call(base, 'udapi'))
      Object.defineProperty(base, 'udapi', ACCESSOR);
  }
  req.udapi = info;
}
