// Fast unit tests of the pure modules under the HTTP tests: route matching, token order, sliding window,
// concurrency limiter, in-flight registry and address grouping, each against a plain reference or its contract.
import type { Response } from 'express';
import fc from 'fast-check';
import { RouteMatcher } from '../src/catalog/route-matcher';
import { TokenOrder } from '../src/catalog/token-order';
import { addressGroup } from '../src/endpoint/address-group';
import { ConcurrencyLimiter, QueueFullError } from '../src/endpoint/concurrency';
import { ClientGoneError, InFlightRegistry, TimeoutError } from '../src/endpoint/in-flight';
import { MemorySlidingWindow } from '../src/endpoint/sliding-window';
import { parseRoute, type RouteSegment } from '../src/routing/route-grammar';
import { propertySeed } from './helpers/seed';

describe('RouteMatcher', () => {
  interface Route { id: string; route: string; segments: RouteSegment[] }
  const routeOf = (id: string, route: string): Route => {
    const parsed = parseRoute(route, '/api');
    if ('problem' in parsed) throw new Error(parsed.problem);
    return { id, route, segments: parsed.segments };
  };

  /** The priority rule read literally: static first, then more literals, then the earlier first literal. */
  function reference(routes: Route[], path: string[]): string | undefined {
    const fits = routes.filter(({ segments }) => segments.length === path.length
      && segments.every((segment, i) => segment.kind === 'param' ? path[i] !== '' : segment.lower === path[i]!.toLowerCase()));
    const literals = (route: Route) => route.segments.filter((segment) => segment.kind === 'literal').length;
    fits.sort((a, b) => {
      if (literals(a) !== literals(b)) return literals(b) - literals(a);
      for (let i = 0; i < a.segments.length; i += 1) {
        if (a.segments[i]!.kind !== b.segments[i]!.kind) return a.segments[i]!.kind === 'literal' ? -1 : 1;
      }
      return 0;
    });
    return fits[0]?.id;
  }

  it('picks the definition the priority rule picks, for any set of routes and any path', () => {
    const seed = propertySeed('route matcher property');
    const segment = fc.constantFrom('a', 'B', 'c', '{p}');
    const routeText = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.map((part, i) => (part === '{p}' ? `{p${i}}` : part)).join('/'));
    fc.assert(fc.property(fc.uniqueArray(routeText, { maxLength: 12 }), fc.array(fc.constantFrom('a', 'b', 'C', 'x'), { minLength: 1, maxLength: 4 }), (texts, path) => {
      // Routes with equal shapes conflict and are refused on save: keep the first of each shape.
      const byKey = new Map<string, Route>();
      texts.forEach((text, i) => {
        const parsed = parseRoute(text, '/api');
        if (!('problem' in parsed) && !byKey.has(parsed.key)) byKey.set(parsed.key, routeOf(`d${i}`, text));
      });
      const routes = [...byKey.values()];
      const matcher = new RouteMatcher<Route>();
      for (const route of routes) matcher.set(route);
      expect(matcher.match(path)?.definition.id).toBe(reference(routes, path));
    }), { numRuns: 3000, seed });
  });

  it('gives parameter values as received, replaces and deletes by id', () => {
    const matcher = new RouteMatcher<Route>();
    matcher.set(routeOf('one', 'items/{id}'));
    expect(matcher.match(['ITEMS', 'Ab/c'])).toEqual({ definition: expect.objectContaining({ id: 'one' }), routeParameters: { id: 'Ab/c' } });
    matcher.set(routeOf('one', 'things/{id}'));
    expect(matcher.match(['items', 'x'])).toBeUndefined();
    expect(matcher.match(['things', 'x'])?.definition.id).toBe('one');
    matcher.delete('one');
    expect([matcher.size, matcher.match(['things', 'x'])]).toEqual([0, undefined]);
  });
});

describe('TokenOrder', () => {
  it('keeps newest first and pages after a cursor exactly like a sorted array', () => {
    const seed = propertySeed('token order property');
    const token = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), createdAt: fc.integer({ min: 0, max: 3 }) });
    fc.assert(fc.property(fc.uniqueArray(token, { selector: (t) => t.id, maxLength: 6 }), fc.integer({ min: 1, max: 4 }), (tokens, limit) => {
      const order = new TokenOrder<{ id: string; createdAt: number }>();
      const [first, ...rest] = tokens;
      order.reset(first ? [first] : []);
      for (const t of rest) order.insert(t);
      const sorted = [...tokens].sort((x, y) => (x.createdAt !== y.createdAt ? y.createdAt - x.createdAt : x.id < y.id ? 1 : -1));
      let after: { at: number; id: string } | undefined;
      const seen: string[] = [];
      for (;;) {
        const page = order.page(() => true, limit, after);
        seen.push(...page.items.map((t) => t.id));
        if (!page.hasMore) break;
        const last = page.items[page.items.length - 1]!;
        after = { at: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(sorted.map((t) => t.id));
      if (first) {
        order.remove(first);
        expect(order.count(() => true)).toBe(tokens.length - 1);
      }
    }), { numRuns: 2000, seed });
  });
});

describe('MemorySlidingWindow', () => {
  it('admits exactly `limit` in a window, does not count refusals, and frees one slot as each hit leaves', () => {
    const window = new MemorySlidingWindow();
    const hit = (now: number) => window.hit('k', 2, 1000, now);
    expect([hit(0), hit(400)]).toEqual([{ allowed: true, retryAfterMs: 0 }, { allowed: true, retryAfterMs: 0 }]);
    expect(hit(500)).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(hit(999)).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(window.count('k', 1000, 999)).toBe(2);
    expect(hit(1000).allowed).toBe(true); // the hit at 0 left the window; the refusals never entered it
    expect(hit(1001)).toEqual({ allowed: false, retryAfterMs: 399 });
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
