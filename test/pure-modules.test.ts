// Fast unit tests of the pure modules under the HTTP tests: route matching, allowed-token lists, sliding window,
// concurrency limiter, in-flight registry, address grouping and the change hints subscription, each against a plain
// reference or its contract.
import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import fc from 'fast-check';
import { allowsToken } from '../src/catalog/catalog';
import { ChangeHints } from '../src/catalog/change-hints';
import { packBcryptHash, unpackBcryptHash } from '../src/domain/bcrypt-hash';
import { createHmac } from 'node:crypto';
import { digestKey, digestSecret, digestText, SECRET_MAX_LENGTH } from '../src/domain/secrets';
import { LookupDigest } from '../src/security/lookup-digest';
import { RouteMatcher, routeParameters } from '../src/catalog/route-matcher';
import { addressGroup } from '../src/endpoint/address-group';
import { ConcurrencyLimiter } from '../src/endpoint/concurrency';
import { ClientGoneError, QueueFullError, RateLimitStoreError, TimeoutError } from '../src/errors';
import { Authorization, type AuthorizationDeps } from '../src/endpoint/authorization';
import { newCallTrace } from '../src/endpoint/call-trace';
import { InFlightRegistry } from '../src/endpoint/in-flight';
import { endpointError, retryAfterError, sendEndpointError } from '../src/endpoint/endpoint-error';
import { FailedAuthThrottle } from '../src/endpoint/failed-auth-throttle';
import { MemorySlidingWindow } from '../src/endpoint/sliding-window';
import { parseRoute, type RouteSegment } from '../src/domain/route-grammar';
import { WriteGate } from '../src/database/write-gate';
import { captureLogger } from './helpers/capture';
import { propertySeed } from './helpers/seed';
import { routeByPriority } from './helpers/route-priority';

describe('RouteMatcher', () => {
  interface Route {
    id: string;
    route: string;
    segments: RouteSegment[];
  }
  const routeOf = (id: string, route: string): Route => {
    const parsed = parseRoute(route, '/api');
    if ('problem' in parsed) throw new Error(parsed.problem);
    return { id, route, segments: parsed.segments };
  };

  /** The matcher files definitions by number: this keeps each route's number and segments by its id, as DefinitionTable does. */
  class MatcherById {
    private readonly matcher = new RouteMatcher();
    private readonly routes: (Route | undefined)[] = [];
    set(route: Route): void {
      this.delete(route.id);
      const free = this.routes.indexOf(undefined);
      const number = free >= 0 ? free : this.routes.length;
      this.routes[number] = route;
      this.matcher.set(number, route.segments);
    }
    delete(id: string): void {
      const number = this.routes.findIndex((route) => route?.id === id);
      if (number < 0) return;
      this.matcher.delete(number, this.routes[number]!.segments);
      this.routes[number] = undefined;
    }
    match(path: string[]): { definition: Route; routeParameters: Record<string, string> } | undefined {
      const number = this.matcher.match(path);
      if (number < 0) return undefined;
      const definition = this.routes[number]!;
      return { definition, routeParameters: routeParameters(definition.segments, path) };
    }
    get size(): number {
      return this.routes.filter(Boolean).length;
    }
  }

  it('picks the definition the priority rule picks, for any set of routes and any path', () => {
    const seed = propertySeed('route matcher property');
    const segment = fc.constantFrom('a', 'B', 'c', '{p}');
    const routeText = fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((parts) => parts.map((part, i) => (part === '{p}' ? `{p${i}}` : part)).join('/'));
    fc.assert(
      fc.property(
        fc.uniqueArray(routeText, { maxLength: 12 }),
        fc.array(fc.constantFrom('a', 'b', 'C', 'x'), { minLength: 1, maxLength: 4 }),
        (texts, path) => {
          // Routes with equal shapes conflict and are refused on save: keep the first of each shape.
          const byKey = new Map<string, Route>();
          texts.forEach((text, i) => {
            const parsed = parseRoute(text, '/api');
            if (!('problem' in parsed) && !byKey.has(parsed.key)) byKey.set(parsed.key, routeOf(`d${i}`, text));
          });
          const routes = [...byKey.values()];
          const matcher = new MatcherById();
          for (const route of routes) matcher.set(route);
          expect(matcher.match(path)?.definition.id).toBe(routeByPriority(routes, path));
        },
      ),
      { numRuns: 3000, seed },
    );
  });

  it('matches as the priority rule says through any sequence of adds, replacements and deletes', () => {
    const seed = propertySeed('route matcher edits property');
    const routeText = fc
      .array(fc.constantFrom('a', 'b', 'c', '{p}'), { minLength: 1, maxLength: 3 })
      .map((parts) => parts.map((part, i) => (part === '{p}' ? `{p${i}}` : part)).join('/'));
    const edit = fc.record({ id: fc.constantFrom('d0', 'd1', 'd2', 'd3', 'd4'), route: fc.option(routeText) });
    const path = fc.array(fc.constantFrom('a', 'B', 'c', 'x'), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 20 }), fc.array(path, { minLength: 1, maxLength: 5 }), (edits, paths) => {
        const matcher = new MatcherById();
        const current = new Map<string, Route>();
        for (const { id, route } of edits) {
          if (route === null) {
            matcher.delete(id);
            current.delete(id);
            continue;
          }
          const parsed = parseRoute(route, '/api');
          const shapeOf = (other: Route) => (parseRoute(other.route, '/api') as { key: string }).key;
          // Equal shapes conflict and are refused on save: such an edit never reaches the matcher.
          if (
            'problem' in parsed ||
            [...current.values()].some((other) => other.id !== id && shapeOf(other) === parsed.key)
          )
            continue;
          matcher.set(routeOf(id, route));
          current.set(id, routeOf(id, route));
        }
        for (const segments of paths)
          expect(matcher.match(segments)?.definition.id).toBe(routeByPriority([...current.values()], segments));
        expect(matcher.size).toBe(current.size);
      }),
      { numRuns: 3000, seed },
    );
  });

  it('gives parameter values as received, replaces and deletes by id', () => {
    const matcher = new MatcherById();
    matcher.set(routeOf('one', 'items/{id}'));
    expect(matcher.match(['ITEMS', 'Ab/c'])).toEqual({
      definition: expect.objectContaining({ id: 'one' }),
      routeParameters: { id: 'Ab/c' },
    });
    matcher.set(routeOf('one', 'things/{id}'));
    expect(matcher.match(['items', 'x'])).toBeUndefined();
    expect(matcher.match(['things', 'x'])?.definition.id).toBe('one');
    matcher.delete('one');
    expect([matcher.size, matcher.match(['things', 'x'])]).toEqual([0, undefined]);
  });
});

describe('allowsToken', () => {
  it('finds exactly the ids of a sorted list, as includes() does', () => {
    const seed = propertySeed('allowed tokens property');
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
    fc.assert(
      fc.property(fc.uniqueArray(id, { maxLength: 7 }), id, (ids, candidate) => {
        expect(allowsToken([...ids].sort(), candidate)).toBe(ids.includes(candidate));
      }),
      { numRuns: 2000, seed },
    );
  });
});

describe('compact secrets of the view', () => {
  const bcryptCharacter = fc.constantFrom(...'./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');

  it('packs any well-formed bcrypt hash into 42 bytes and back to itself, and refuses a malformed one', () => {
    const seed = propertySeed('packed bcrypt hash property');
    const hash = fc
      .tuple(
        fc.constantFrom('a', 'b', 'y'),
        fc.integer({ min: 4, max: 15 }),
        fc.array(bcryptCharacter, { minLength: 53, maxLength: 53 }),
      )
      .map(([version, cost, body]) => `$2${version}$${String(cost).padStart(2, '0')}$${body.join('')}`);
    fc.assert(
      fc.property(hash, (text) => {
        const packed = packBcryptHash(text);
        expect(packed).toHaveLength(42);
        expect(unpackBcryptHash(packed!)).toBe(text);
      }),
      { numRuns: 2000, seed },
    );
    expect(packBcryptHash('$2b$31$' + 'a'.repeat(53))).toBeNull();
    expect(packBcryptHash('not a hash')).toBeNull();
  });

  it('computes the lookup key as createHmac does, for any pepper and secret, and leaves no secret in its buffer', () => {
    const seed = propertySeed('lookup digest');
    fc.assert(
      fc.property(
        // Peppers shorter than, as long as and longer than SHA-256's block (a longer key is hashed first).
        fc.uint8Array({ minLength: 1, maxLength: 130 }),
        // Secrets of the allowed shape, any text (several bytes per character), and longer than the buffer.
        fc.array(fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 300 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (pepperBytes, secrets) => {
          const pepper = Buffer.from(pepperBytes);
          const digest = new LookupDigest(pepper);
          for (const secret of secrets)
            expect(digest.keyOf(secret)).toBe(createHmac('sha256', pepper).update(secret, 'utf8').digest('binary'));
          // The buffer that held each secret holds only the padded key afterwards.
          const inner = (digest as unknown as { inner: Buffer }).inner;
          expect(inner.subarray(64).every((byte) => byte === 0)).toBe(true);
        },
      ),
      { numRuns: 500, seed },
    );
    // At the buffer's edge: the longest secret fits; one more byte (or a multi-byte character) takes the other path.
    const pepper = Buffer.from('k'.repeat(32));
    const digest = new LookupDigest(pepper);
    for (const secret of ['a'.repeat(SECRET_MAX_LENGTH), 'a'.repeat(SECRET_MAX_LENGTH + 1), 'é'.repeat(300)])
      expect(digest.keyOf(secret)).toBe(createHmac('sha256', pepper).update(secret, 'utf8').digest('binary'));
  });

  it('keys a digest by its 32 bytes, and the key of a presented secret is the key of its stored digest', () => {
    const pepper = Buffer.from('p'.repeat(32));
    const secret = 'S'.repeat(44);
    const key = digestKey(digestSecret(pepper, secret));
    expect(key).toHaveLength(32);
    expect(new LookupDigest(pepper).keyOf(secret)).toBe(key);
    expect(digestText(key)).toBe(digestSecret(pepper, secret));
    // A stored digest that is no digest keeps its text, and no presented secret's key can equal it.
    for (const odd of ['x'.repeat(32), 'not base64url!', digestSecret(pepper, secret) + 'A']) {
      expect(digestText(digestKey(odd))).toBe(odd);
      expect(digestKey(odd)).not.toHaveLength(32);
    }
  });
});

describe('MemorySlidingWindow', () => {
  it('admits exactly `limit` in a window, does not count refusals, and frees one slot as each hit leaves', () => {
    const window = new MemorySlidingWindow();
    const hit = (now: number) => window.hit('k', 2, 1000, now);
    // remaining: what the window still admits, this hit counted; resetMs: until its oldest hit leaves.
    expect([hit(0), hit(400)]).toEqual([
      { allowed: true, retryAfterMs: 0, remaining: 1, resetMs: 1000 },
      { allowed: true, retryAfterMs: 0, remaining: 0, resetMs: 600 },
    ]);
    expect(hit(500)).toEqual({ allowed: false, retryAfterMs: 500, remaining: 0, resetMs: 500 });
    expect(hit(999)).toEqual({ allowed: false, retryAfterMs: 1, remaining: 0, resetMs: 1 });
    expect(window.count('k', 1000, 999)).toBe(2);
    expect(hit(1000)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0, resetMs: 400 }); // the hit at 0 left; refusals never entered
    expect(hit(1001)).toEqual({ allowed: false, retryAfterMs: 399, remaining: 0, resetMs: 399 });
    expect(window.peek('k', 2, 1000, 1400)).toEqual({ allowed: true, retryAfterMs: 0 });
  });

  it('holds at most maxKeys keys, dropping the least recently used', () => {
    const window = new MemorySlidingWindow(2);
    window.hit('a', 1, 1000, 0);
    window.hit('b', 1, 1000, 0);
    window.hit('a', 1, 1000, 1); // refused, but 'a' is now the most recently used
    window.hit('c', 1, 1000, 2);
    expect(window.size).toBe(2);
    expect([window.count('a', 1000, 3), window.count('b', 1000, 3), window.count('c', 1000, 3)]).toEqual([1, 0, 1]);
  });
});

describe('ConcurrencyLimiter', () => {
  it('runs up to maxRunning, queues up to maxWaiting in order, refuses beyond, and hands a slot on at release', async () => {
    const limiter = new ConcurrencyLimiter(1, 2);
    const first = limiter.tryAcquire()!;
    expect(limiter.tryAcquire()).toBeNull();
    const order: string[] = [];
    const waiting = [limiter.acquire(new AbortController().signal), limiter.acquire(new AbortController().signal)];
    void waiting[0]!.then(() => order.push('second'));
    void waiting[1]!.then(() => order.push('third'));
    await expect(limiter.acquire(new AbortController().signal)).rejects.toBeInstanceOf(QueueFullError);
    expect([limiter.active, limiter.queued]).toEqual([1, 2]);
    first();
    first(); // a second release of the same slot changes nothing
    const second = await waiting[0]!;
    expect([limiter.active, limiter.queued, order]).toEqual([1, 1, ['second']]);
    second();
    (await waiting[1]!)();
    expect([limiter.active, limiter.queued, order]).toEqual([0, 0, ['second', 'third']]);
  });

  it('drops a waiter whose signal fires', async () => {
    const limiter = new ConcurrencyLimiter(1, 1);
    const release = limiter.tryAcquire()!;
    const controller = new AbortController();
    const waiter = limiter.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiter).rejects.toThrow('gone');
    expect(limiter.queued).toBe(0);
    release();
    expect(limiter.active).toBe(0);
  });
});

describe('InFlightRegistry', () => {
  const response = (destroyed = false) => ({ destroyed, socket: { destroyed } }) as unknown as Response;

  it('fails a tracked action at its deadline and fires its signal', async () => {
    const registry = new InFlightRegistry(50);
    const entry = registry.track(registry.create(response()));
    const outcome = entry.wait(new Promise(() => undefined));
    await expect(outcome).rejects.toBeInstanceOf(TimeoutError);
    expect(entry.signal.aborted).toBe(true);
    registry.finish(entry);
    expect(registry.size).toBe(0);
  });

  it('fails an action whose client went away, and leaves a finished one alone', async () => {
    const registry = new InFlightRegistry(10_000);
    const gone = registry.track(registry.create(response(true)));
    await expect(gone.wait(new Promise(() => undefined))).rejects.toBeInstanceOf(ClientGoneError);
    const done = registry.track(registry.create(response()));
    await expect(done.wait(Promise.resolve('ok'))).resolves.toBe('ok');
    registry.finish(gone);
    registry.finish(done);
    expect(done.failed).toBeUndefined();
  });
});

describe('addressGroup', () => {
  it.each([
    ['203.0.113.7', 64, '203.0.113.7'],
    ['::ffff:203.0.113.7', 64, '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2::9', 56, '2001:db8:1:0::/56'],
    ['2001:db8:1:2ff::9', 56, '2001:db8:1:200::/56'],
    ['fe80::1%eth0', 64, 'fe80:0:0:0::/64'],
    ['::1', 128, '0:0:0:0:0:0:0:1::/128'],
    ['::ffff:0:1.2.3.4', 128, '0:0:0:0:ffff:0:102:304::/128'],
    ['not an address', 64, 'not an address'],
  ])('groups %s by /%d as %s', (address, bits, group) => {
    expect(addressGroup(address, bits)).toBe(group);
  });
});

describe('refusals allocate nothing a flood can multiply', () => {
  /** A response that records what is written to it. */
  function recorder(): { res: Response; headers: Record<string, unknown>; status: () => number; body: () => string } {
    const headers: Record<string, unknown> = {};
    let body = '';
    const res = {
      statusCode: 200,
      setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = value),
      end: (text: string) => (body = text),
    };
    return { res: res as unknown as Response, headers, status: () => res.statusCode, body: () => body };
  }

  it('shares one error per name and whole second of Retry-After, and renders it the same each time', () => {
    expect(retryAfterError('TooManyFailedAuthentications', 1500)).toBe(
      retryAfterError('TooManyFailedAuthentications', 2000),
    );
    expect(retryAfterError('TooManyFailedAuthentications', 2001)).not.toBe(
      retryAfterError('TooManyFailedAuthentications', 2000),
    );
    expect(retryAfterError('RateLimitExceeded', 0).extra.retryAfterSeconds).toBe(1);
    expect(endpointError('AuthenticationFailed')).toBe(endpointError('AuthenticationFailed'));
    const bodies = [1, 2].map(() => {
      const written = recorder();
      sendEndpointError(written.res, retryAfterError('TooManyFailedAuthentications', 29_001), 'node-a');
      return { status: written.status(), headers: written.headers, body: written.body() };
    });
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[0]!.status).toBe(429);
    expect(bodies[0]!.headers['retry-after']).toBe('30');
    expect(JSON.parse(bodies[0]!.body).errors[0]).toMatchObject({ errorCode: 2003, faultingNode: 'node-a' });
    // Another node renders its own body.
    const other = recorder();
    sendEndpointError(other.res, retryAfterError('TooManyFailedAuthentications', 29_001), 'node-b');
    expect(JSON.parse(other.body()).errors[0].faultingNode).toBe('node-b');
  });

  it('are given back by the authorization step, not thrown (a throw costs V8 a message object per refusal)', () => {
    let decide: () => unknown = () => ({ verdict: 'unknownSecret' });
    const store = new MemorySlidingWindow(undefined, { remaining: false });
    const logger = captureLogger();
    const authorization = new Authorization({
      decider: { decide: () => decide() } as unknown as AuthorizationDeps['decider'],
      health: { ready: true } as AuthorizationDeps['health'],
      throttle: new FailedAuthThrottle({ limit: 2, windowMs: 60_000, ipv6PrefixBits: 64 }, store),
      log: logger,
      recordUse: () => undefined,
      metrics: null,
    });
    const request = (header: string | undefined) =>
      ({ headers: { authorization: header }, ip: '192.0.2.9' }) as unknown as Parameters<Authorization['authorize']>[0];
    const authorizationOf = (header: string | undefined) =>
      authorization.authorize(request(header), ['orders'], newCallTrace('r'));
    expect(authorizationOf('Bearer unknown')).toBe(endpointError('AuthenticationFailed'));
    expect(authorizationOf('Basic abc')).toBe(endpointError('AuthenticationHeaderInvalid'));
    // The third failure from the address within the window: the throttle's shared 429.
    expect(authorizationOf('Bearer unknown')).toBe(retryAfterError('TooManyFailedAuthentications', 60_000));
    decide = () => ({ verdict: 'noDefinition' });
    expect(authorizationOf('Bearer known')).toBe(endpointError('DefinitionNotFound'));
    decide = () => {
      throw new RateLimitStoreError(new Error('store down'));
    };
    expect(authorizationOf('Bearer known')).toBe(retryAfterError('NotReady', 1000));
    // What is no refusal (a failure of the package) is still thrown.
    decide = () => {
      throw new TypeError('a bug');
    };
    expect(() => authorizationOf('Bearer known')).toThrow('a bug');
  });

  it("the throttle and the memory store answer with the store's own objects: one shared answer while allowed", () => {
    // As the plugin builds the throttle's own store (without a shared one): no remaining count to report.
    const store = new MemorySlidingWindow(undefined, { remaining: false });
    const throttle = new FailedAuthThrottle({ limit: 2, windowMs: 60_000, ipv6PrefixBits: 64 }, store);
    const first = throttle.failed('192.0.2.7');
    expect(first).toBe(throttle.failed('192.0.2.7'));
    expect(first).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(Object.isFrozen(first)).toBe(true);
    expect(throttle.failed('192.0.2.7')).toMatchObject({ allowed: false });
  });
});

describe('WriteGate', () => {
  it('runs writes one at a time in the order given, and goes on after one that fails', async () => {
    const gate = new WriteGate();
    const log: string[] = [];
    const write =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([gate.run(write('a')), gate.run(write('b', true)), gate.run(write('c'))]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('ChangeHints', () => {
  /** A stand-in Redis client: hints are a unit; the real Redis runs in change-feed.test.ts and multi-instance.test.ts. */
  function fakeRedis() {
    const subscriber = Object.assign(new EventEmitter(), {
      subscriptions: 0,
      subscribe: async () => {
        subscriber.subscriptions += 1;
        return Promise.resolve();
      },
      disconnect: () => undefined,
    });
    return { subscriber, client: { publish: () => Promise.resolve(0), duplicate: () => subscriber } };
  }

  it('subscribes again when started again, but calls back once per hint', async () => {
    const { subscriber, client } = fakeRedis();
    const hints = new ChangeHints(client, 'udapi:changes', captureLogger());
    let calls = 0;
    await hints.start(() => (calls += 1));
    await hints.start(() => (calls += 1)); // a retried subscription
    subscriber.emit('message', 'udapi:changes', '');
    subscriber.emit('message', 'other:channel', '');
    expect([subscriber.subscriptions, calls]).toEqual([2, 1]);
  });
});
