// The change log heals what it cannot see: a change written without a log record, and a log pruned past an instance.
import { randomUUID } from 'node:crypto';
import express from 'express';
import Redis from 'ioredis';
import mongoose from 'mongoose';
import request from 'supertest';
import { revisionKey } from '../src/models/change';
import { internalsOf } from '../src/plugin';
import { ADMIN, createTestApp, type TestApp } from './helpers/app';
import { itWithRedis, REDIS_URL } from './helpers/redis';
import { openTestDb, type TestDb } from './helpers/db';
import { stallingProxy } from './helpers/stalling-proxy';

let db: TestDb;
let writer: TestApp;
let reader: TestApp;
const readerHost = express();
const tokens = () => db.connection.collection('udapiApiTokens');

beforeAll(async () => {
  db = await openTestDb();
  writer = await createTestApp(db);
  reader = await createTestApp(db, { fullReloadIntervalMs: 1000, changePollIntervalMs: 100 });
  readerHost.use('/api/custom', reader.udapi.endpoint());
});

afterAll(async () => {
  await writer?.udapi.close();
  await reader?.udapi.close();
  await db?.drop();
});

async function setup(route: string): Promise<{ tokenId: string; secret: string }> {
  const token = await request(writer.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: route });
  await request(writer.app)
    .post('/admin/udapi/definitions')
    .set(ADMIN)
    .send({ route, actionMeta: { name: 'test.echo' }, securitySettings: { allowedTokens: [token.body.id] } });
  return { tokenId: token.body.id, secret: token.body.secret };
}

async function waitFor(check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Where a test holds a step: the step calls reach() and awaits held; the test awaits reached, then calls release(). */
function holdPoint(): { held: Promise<void>; release: () => void; reached: Promise<void>; reach: () => void } {
  let release = (): void => undefined;
  let reach = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return { held, release, reached, reach };
}

/** The token is in the instance's view, and its secret finds it. */
function expectInView(instance: TestApp, tokenId: string, secret: string): void {
  const { catalog, verifier } = internalsOf(instance.udapi);
  expect(catalog.tokenById(tokenId)?.id).toBe(tokenId);
  expect(verifier.lookup(secret)?.id).toBe(tokenId);
}

describe('change feed', () => {
  it('records one increasing revision per change, and another instance applies them', async () => {
    const { feed } = internalsOf(writer.udapi);
    const before = await feed.record('ApiToken', 'nothing');
    const { secret } = await setup('feed/basic');
    const after = await feed.record('ApiToken', 'nothing');
    expect(after - before).toBe(3); // the token, the definition, and this record
    await waitFor(
      async () =>
        (await request(readerHost).get('/api/custom/feed/basic').set('Authorization', `Bearer ${secret}`)).status ===
        200,
      1000,
    );
    expect(internalsOf(reader.udapi).feed.revision).toBeGreaterThanOrEqual(after - 1);
  });

  it('hands out distinct revisions to concurrent writers', async () => {
    const { feed } = internalsOf(writer.udapi);
    const revisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => feed.record('ApiToken', `concurrent-${i}`)),
    );
    expect(new Set(revisions).size).toBe(30);
  });

  it('keeps the newest 1,000 records when pruning, and allocates above them even when its own last one is gone', async () => {
    const { feed } = internalsOf(writer.udapi);
    const changes = db.connection.collection('udapiChanges');
    const first = await feed.record('ApiToken', 'prune-start');
    const docs = Array.from({ length: 1100 }, (_, i) => ({
      _id: revisionKey(first + 1 + i),
      objectType: 'ApiToken',
      objectId: `filler-${i}`,
      at: new Date(),
    }));
    await changes.insertMany(docs as never[]);
    await feed.prune();
    const latest = first + 1100;
    expect(await changes.countDocuments()).toBe(1000);
    expect(await changes.findOne({ _id: revisionKey(latest - 999) as never })).not.toBeNull();
    expect(await changes.findOne({ _id: revisionKey(latest - 1000) as never })).toBeNull();
    // The writer's own last revision (first) was pruned: the next one must still go above the newest.
    expect(await feed.record('ApiToken', 'after-prune')).toBe(latest + 1);
  });

  it("applies the state a change record carries, without reading the object, when it holds the writer's state before", async () => {
    const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      const { tokenId } = await setup('feed/carried');
      const { feed, catalog } = internalsOf(quiet.udapi);
      await feed.poll();
      const stored = await tokens().findOne({ _id: tokenId as never });
      // A record whose state the database does not hold: applying it proves no read happened.
      const carried = { ...stored!, name: 'only-in-the-record', lastModified: new Date(Date.now() + 1000) };
      await internalsOf(writer.udapi).feed.record('ApiToken', tokenId, {
        state: carried as never,
        before: catalog.fingerprint('ApiToken', tokenId),
      });
      await feed.poll();
      expect(catalog.tokenById(tokenId)?.name).toBe('only-in-the-record');
    } finally {
      await quiet.udapi.close();
    }
  });

  it('reads the few records a poll finds by key, not by a range read of the log (a scan on FerretDB)', async () => {
    const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      const { tokenId } = await setup('feed/point-reads');
      const { feed, catalog } = internalsOf(quiet.udapi);
      await feed.poll();
      // This feed's reads only: the writer's feed shares the model (one connection) and polls on its own timer.
      const internals = feed as unknown as { model: mongoose.Model<unknown>; applyNewChanges: () => Promise<void> };
      const model = internals.model;
      const reads = { range: 0, point: 0 };
      internals.model = Object.create(model, {
        find: { value: (...args: Parameters<typeof model.find>) => ((reads.range += 1), model.find(...args)) },
        findOne: { value: (...args: Parameters<typeof model.findOne>) => ((reads.point += 1), model.findOne(...args)) },
      }) as typeof model;
      // Every poll of this feed, the test's own and any other (the health check polls after a late ping).
      const polls = jest.spyOn(internals, 'applyNewChanges');
      try {
        // Eight polls, each after one rename: every one of them applies its change. One poll in eight reads a range
        // anyway (to see whether the next record was pruned), so P polls make at most P / 8 + 1 range reads; reading
        // ranges, the poll before this change made one whenever it found a record (here at least eight).
        for (let i = 0; i < 8; i += 1) {
          await request(writer.app)
            .patch(`/admin/udapi/tokens/${tokenId}`)
            .set(ADMIN)
            .send({ name: `point-${i}` });
          await feed.poll();
          expect(catalog.tokenById(tokenId)?.name).toBe(`point-${i}`);
        }
        expect(reads.range).toBeLessThanOrEqual(Math.floor(polls.mock.calls.length / 8) + 1);
        expect(reads.point).toBeGreaterThanOrEqual(14);
      } finally {
        internals.model = model;
        polls.mockRestore();
      }
    } finally {
      await quiet.udapi.close();
    }
  });

  // Two instances change one token at the same time, both from the state they hold (s0); the database keeps the
  // write that landed last (which, read-modify-write, carries the other's field too). Whatever order the two
  // records reach the log in, a third instance ends on the stored state.
  it.each([
    ['first', 'first'],
    ['first', 'second'],
    ['second', 'first'],
    ['second', 'second'],
  ] as const)(
    'converges on the stored state of two concurrent writes (the %s lands last, the %s is logged first)',
    async (landsLast, loggedFirst) => {
      const logOrder = loggedFirst === 'first' ? (['first', 'second'] as const) : (['second', 'first'] as const);
      const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
      try {
        const { tokenId } = await setup(`feed/concurrent-${landsLast}-${logOrder.join('-')}`);
        const { feed, catalog } = internalsOf(quiet.udapi);
        await feed.poll();
        const before = catalog.fingerprint('ApiToken', tokenId);
        const fields = { first: { name: 'renamed' }, second: { isDisabled: true } };
        const landsFirst = landsLast === 'first' ? 'second' : 'first';
        const states: Record<string, Record<string, unknown>> = {};
        for (const [writerName, at] of [
          [landsFirst, 1],
          [landsLast, 2],
        ] as const) {
          states[writerName] = (await tokens().findOneAndUpdate(
            { _id: tokenId as never },
            { $set: { ...fields[writerName], lastModified: new Date(Date.now() + at) } },
            { returnDocument: 'after' },
          ))!;
        }
        for (const writerName of logOrder)
          await internalsOf(writer.udapi).feed.record('ApiToken', tokenId, {
            state: states[writerName] as never,
            before,
          });
        await feed.poll();
        expect(catalog.tokenById(tokenId)).toMatchObject({ name: 'renamed', isDisabled: true });
        const stored = await tokens().findOne({ _id: tokenId as never });
        expect(catalog.tokenById(tokenId)?.lastModified).toBe(stored!.lastModified.getTime());
      } finally {
        await quiet.udapi.close();
      }
    },
  );

  it("never puts a deleted token back from its creation's record (the writer's view is ahead of the log)", async () => {
    const { catalog, feed } = internalsOf(writer.udapi);
    const token = await request(writer.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'tombstone' });
    const created = await tokens().findOne({ _id: token.body.id as never });
    expect((await request(writer.app).delete(`/admin/udapi/tokens/${token.body.id}`).set(ADMIN)).status).toBe(204);
    expect(catalog.tokenById(token.body.id as string)).toBeUndefined();
    // What the writer's poll does when it reads the creation's record after the delete was applied, before the
    // delete's record is in the log: the record's before-state (nothing) matches the view (nothing again).
    expect(await catalog.applyRecorded('ApiToken', token.body.id as string, created as never, null)).toBe(false);
    expect(catalog.tokenById(token.body.id as string)).toBeUndefined();
    await feed.catchUp();
    expect(catalog.tokenById(token.body.id as string)).toBeUndefined();
  });

  it('heals a change that was stored without a log record at the next full reload', async () => {
    const { tokenId, secret } = await setup('feed/unlogged');
    const call = () => request(readerHost).get('/api/custom/feed/unlogged').set('Authorization', `Bearer ${secret}`);
    await waitFor(async () => (await call()).status === 200, 1000);
    // As if a writer died between storing the change and logging it.
    await db.connection
      .collection('udapiApiTokens')
      .updateOne({ _id: tokenId as never }, { $set: { isDisabled: true } });
    await waitFor(async () => (await call()).status === 401, 3000);
  });

  it('reloads everything when the records it missed were pruned', async () => {
    const { feed, catalog } = internalsOf(reader.udapi);
    await reader.udapi.close(); // stop the reader's timers: it falls behind while the writer works
    await feed.catchUp(); // let a poll that close() did not wait out finish, so the position below is final
    const position = feed.revision;
    const { secret } = await setup('feed/pruned');
    await db.connection
      .collection('udapiChanges')
      .deleteMany({ _id: { $gt: revisionKey(position), $lt: revisionKey(position + 2) } as never });
    const loadsBefore = catalog.tokenCount;
    // Idle polls look up only the next revision, which is gone; every eighth reads the range and finds the gap.
    for (let poll = 0; poll < 8 && catalog.tokenCount === loadsBefore; poll += 1) await feed.poll();
    expect(catalog.tokenCount).toBeGreaterThan(loadsBefore);
    expect(await internalsOf(reader.udapi).verifier.verify(secret)).not.toBeNull();
  });
});

describe('a process too busy to poll', () => {
  // The lag rule is about the database leaving a view behind. A host's own synchronous work (a long GC, a big
  // JSON.parse) holds every timer back, polls included: the next call must wait for a poll, not get a 503, and
  // must be decided on the caught-up view (a revocation made meanwhile holds).
  /** Revokes one of two tokens, holds the loop for 1.5 s (after `beforeHold`), then calls both at once. */
  async function holdTheLoopAfterARevocation(prefix: string, beforeHold: (busy: TestApp) => void): Promise<void> {
    // Bounds with room for a loaded machine: a poll of ~1 s under load still catches up, and the loop is held longer.
    const busy = await createTestApp(db, { changePollIntervalMs: 100, maxViewLagMs: 1000 });
    const host = express();
    host.use('/api/custom', busy.udapi.endpoint());
    const call = (route: string, secret: string) =>
      request(host).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`);
    try {
      const kept = await setup(`${prefix}/kept`);
      const revoked = await setup(`${prefix}/revoked`);
      await waitFor(async () => (await call(`${prefix}/revoked`, revoked.secret)).status === 200, 2000);
      await waitFor(async () => (await call(`${prefix}/kept`, kept.secret)).status === 200, 2000);
      const disabled = await request(writer.app)
        .patch(`/admin/udapi/tokens/${revoked.tokenId}`)
        .set(ADMIN)
        .send({ isDisabled: true });
      expect(disabled.status).toBe(200);

      beforeHold(busy);
      const busyUntil = Date.now() + 1500;
      while (Date.now() < busyUntil); // synchronous work: no timer, so no poll, runs meanwhile
      expect(internalsOf(busy.udapi).feed.lagSeconds() * 1000).toBeGreaterThan(1000);

      const [keptCall, revokedCall] = await Promise.all([
        call(`${prefix}/kept`, kept.secret),
        call(`${prefix}/revoked`, revoked.secret),
      ]);
      expect([keptCall.status, revokedCall.status]).toEqual([200, 401]);
      expect(internalsOf(busy.udapi).feed.lagSeconds() * 1000).toBeLessThan(1000);
    } finally {
      await busy.udapi.close();
    }
  }

  it('waits for a poll instead of answering 503/7, and decides on the view that poll brought', async () => {
    await holdTheLoopAfterARevocation('busy', () => undefined);
  });

  it('does not take a poll that was under way while the loop was held for a hung one', async () => {
    // The cause of a CI failure (503, 503): the 100 ms poll timer had a poll in flight when the loop was held, its
    // answer waited in the socket, and the call found a poll "1.5 s old" and gave up on it. Time the loop spends
    // held is not time the database took.
    await holdTheLoopAfterARevocation('busy-polling', (busy) => void internalsOf(busy.udapi).feed.poll());
  });
});

describe('a database that stops answering', () => {
  /** An instance whose database traffic goes through a proxy that can stall it, serving `route` to its token. */
  async function cutOffInstance(route: string, healthCheckIntervalMs: number) {
    const proxy = await stallingProxy();
    const connection = mongoose.createConnection(proxy.uri, { dbName: db.name, serverSelectionTimeoutMS: 2000 });
    await connection.asPromise();
    const app = await createTestApp(
      { connection, name: db.name, drop: () => Promise.resolve() },
      { healthCheckIntervalMs, changePollIntervalMs: 100 },
    );
    const host = express();
    host.use('/api/custom', app.udapi.endpoint());
    const { tokenId, secret } = await setup(route);
    const call = async () =>
      (await request(host).get(`/api/custom/${route}`).set('Authorization', `Bearer ${secret}`)).status;
    await waitFor(async () => (await call()) === 200, 2000);
    const close = async () => {
      await app.udapi.close();
      proxy.close();
      await connection.close(true);
    };
    return { proxy, app, tokenId, call, close, connection };
  }

  // A full reload takes tens of seconds at 100,000 tokens; the health check used to do one after any failed ping,
  // answering 503 all that time. What was missed is in the change log.
  it('comes back by polling the change log for what it missed, not by a full reload', async () => {
    const { proxy, app, tokenId, call, close } = await cutOffInstance('unreachable/missed', 100);
    const { feed } = internalsOf(app.udapi);
    let reloads = 0;
    const reload = feed.reload.bind(feed);
    feed.reload = () => {
      reloads += 1;
      return reload();
    };
    try {
      proxy.stall();
      await waitFor(async () => (await call()) === 503, 3000);
      expect(app.logs.some((line) => line.level === 'error' && /Database unreachable/.test(line.msg ?? ''))).toBe(true);
      // Revoked while this instance cannot see the database.
      const disabled = await request(writer.app)
        .patch(`/admin/udapi/tokens/${tokenId}`)
        .set(ADMIN)
        .send({ isDisabled: true });
      expect(disabled.status).toBe(200);

      proxy.resume();
      const statuses: number[] = [];
      await waitFor(async () => {
        statuses.push(await call());
        return statuses.at(-1) === 401;
      }, 5000);
      expect(statuses.filter((status) => status !== 503 && status !== 401)).toEqual([]);
      expect(reloads).toBe(0);
      expect(app.logs.some((line) => line.msg === 'Database reachable: serving user-defined APIs')).toBe(true);
    } finally {
      await close();
    }
  });

  // The soak once failed closed (lagMs 2160) with nothing in its log to say whether the database had not answered a
  // poll or no poll had run: the log line now says how long the poll under way has waited.
  it('logs how long the poll under way has waited when the view falls behind', async () => {
    const { proxy, app, close } = await cutOffInstance('unreachable/lagging', 1000);
    const lagLine = () => app.logs.find((line) => line.msg?.startsWith('The in-memory view is behind the change log'));
    try {
      proxy.stall();
      await waitFor(() => Promise.resolve(lagLine() !== undefined), 5000);
      const { lagMs, maxViewLagMs, pollUnderWayMs } = lagLine()!.obj as Record<string, number>;
      expect(lagMs).toBeGreaterThan(maxViewLagMs!);
      // The poll that hung started within a poll interval of the last one that succeeded.
      expect(pollUnderWayMs).toBeGreaterThan(1000);
      expect(pollUnderWayMs).toBeLessThanOrEqual(lagMs!);
    } finally {
      proxy.resume();
      await close();
    }
  });

  // FerretDB's ping waits for any collection or index creation on the server: in a suite sharing it, one ping now
  // and then is late. One late ping is not an outage (a 500 ms stall here: one 300 ms ping timeout fits in it, two do not).
  it('does not take one late ping for an outage', async () => {
    const { proxy, app, call, close } = await cutOffInstance('unreachable/late', 150);
    try {
      const statuses: number[] = [];
      const callFor = async (ms: number) => {
        const until = Date.now() + ms;
        while (Date.now() < until) {
          statuses.push(await call());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      proxy.stall();
      await callFor(500);
      proxy.resume();
      await callFor(500);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      expect(app.logs.some((line) => line.msg === 'A ping is late; one late answer is not an outage')).toBe(true);
      expect(app.logs.filter((line) => line.level === 'error')).toEqual([]);
    } finally {
      await close();
    }
  });
  it('reports no outage when the host closes its connection after close() while a health check waits for its ping', async () => {
    const { proxy, app, connection } = await cutOffInstance('unreachable/closing', 100);
    const health = internalsOf(app.udapi).health as unknown as { checking: boolean };
    proxy.stall();
    // A check has sent its ping, which the stalled proxy holds.
    await waitFor(() => Promise.resolve(health.checking), 1000);
    const unreachable = () =>
      app.logs.filter((line) => line.level === 'error' && /Database unreachable/.test(line.msg ?? '')).length;
    expect(unreachable()).toBe(0);
    // close() stops the checks at once; the host then closes its connection, which fails the ping still awaited
    // (close() itself waits for the stalled poll and writes until the connection goes).
    const closing = app.udapi.close();
    proxy.close();
    await connection.close(true);
    await closing;
    await waitFor(() => Promise.resolve(!health.checking), 2000);
    expect(unreachable()).toBe(0);
  });

  // A stopped database: when the driver's monitor notices first, every ping waits for server selection (seconds)
  // exactly as a slow answer would (seen in CI: 503 only after two late pings, past the one-second bound). A late ping
  // while the driver sees no server is an outage at once. The monitor's verdict is the one thing stood in for here:
  // its event, emitted on the real client while the proxy holds the ping.
  it('takes a late ping for an outage at once when the driver has lost the server', async () => {
    // A 2 s ping timeout: two of them (what a late ping may take while the server is seen) are 4 s.
    const { proxy, app, call, close, connection } = await cutOffInstance('unreachable/stopped', 1000);
    try {
      proxy.stall();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const lostAt = Date.now();
      connection.getClient().emit('topologyDescriptionChanged', {
        newDescription: { hasDataBearingServers: false },
      } as never);
      await waitFor(async () => (await call()) === 503, 1500);
      expect(Date.now() - lostAt).toBeLessThan(2000);
      const errors = app.logs.filter((line) => line.level === 'error').map((line) => JSON.stringify(line.obj));
      expect(errors).toEqual([expect.stringMatching(/the driver no longer sees its server/)]);
    } finally {
      proxy.resume();
      await close();
    }
  });
});

describe('reads that finish out of order', () => {
  it('never put an older state back: a re-read that started before a newer state was applied is dropped', async () => {
    const { tokenId } = await setup(`order-${Date.now()}`);
    const { catalog, feed } = internalsOf(writer.udapi);
    // The writer's own poll must not read setup()'s records after the states below are put in place (its re-read of
    // the stored token would rightly replace them: seen in CI).
    await feed.catchUp();
    const stored = await db.connection.collection('udapiApiTokens').findOne({ _id: tokenId as never });
    // A poll's re-read starts (it will see the stored state), then the writer applies a newer state it knows, and
    // only then does the re-read finish, as when a write lands between a poll's read and its answer.
    const reread = catalog.refreshToken(tokenId);
    await catalog.refreshToken(tokenId, {
      ...(stored as never as Record<string, unknown>),
      name: 'newer state',
    } as never);
    await reread;
    expect(catalog.tokenById(tokenId)?.name).toBe('newer state');
    // A re-read that starts afterwards is applied as usual: the stored state comes back.
    await catalog.refreshToken(tokenId);
    expect(catalog.tokenById(tokenId)?.name).toBe(stored!.name);
  });

  it('a poll that read records before a full reload ended applies none of them over the reloaded view', async () => {
    const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      // No API allows it, so that it can be deleted.
      const made = await request(writer.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'reload-order' });
      const { id: tokenId, secret } = made.body as { id: string; secret: string };
      const { feed, catalog } = internalsOf(quiet.udapi);
      await feed.poll();
      const stored = await tokens().findOne({ _id: tokenId as never });
      // Deleted through the writer, which logs the deletion with its view of the token before it; then put back as
      // it was behind the log's back, as an import stores its tokens before it reloads.
      expect((await request(writer.app).delete(`/admin/udapi/tokens/${tokenId}`).set(ADMIN)).status).toBe(204);
      await tokens().insertOne(stored!);
      // The poll has read the deletion's records; before it applies them, a full reload reads the restored token.
      const internals = feed as unknown as { applyRows: (rows: readonly unknown[]) => Promise<void> };
      const applyRows = internals.applyRows.bind(feed);
      const point = holdPoint();
      const spy = jest.spyOn(internals, 'applyRows').mockImplementation(async (rows) => {
        point.reach();
        await point.held;
        return applyRows(rows);
      });
      try {
        const polling = feed.poll();
        await point.reached;
        await feed.reload();
        expect(catalog.tokenById(tokenId)?.id).toBe(tokenId);
        point.release();
        await polling;
      } finally {
        spy.mockRestore();
      }
      expectInView(quiet, tokenId, secret);
    } finally {
      await quiet.udapi.close();
    }
  });

  it('a full load that started before a newer state was applied keeps the newer state (a revocation stays revoked)', async () => {
    const { tokenId, secret } = await setup(`load-order-${Date.now()}`);
    const { catalog, verifier, feed } = internalsOf(writer.udapi);
    await feed.catchUp();
    const stored = await db.connection.collection('udapiApiTokens').findOne({ _id: tokenId as never });
    const definition = await db.connection.collection('udapiApiDefinitions').findOne({ route: stored!.name });
    // A load starts (it will read the stored, enabled token), then the writer disables the token and deletes the
    // definition, as a write that lands while the health check or an import reloads; only then does the load finish.
    const load = catalog.load();
    await catalog.refreshToken(tokenId, { ...(stored as never as Record<string, unknown>), isDisabled: true } as never);
    await catalog.refreshDefinition(String(definition!._id), null);
    await load;
    expect(catalog.tokenById(tokenId)?.isDisabled).toBe(true);
    expect(verifier.lookup(secret)?.isDisabled).toBe(true);
    expect(catalog.match([stored!.name as string])).toBeUndefined();
    // The load's own reads of everything else are applied, and reads that start afterwards are applied as usual.
    expect(catalog.tokenCount).toBeGreaterThan(0);
    await catalog.refreshToken(tokenId);
    expect(catalog.tokenById(tokenId)?.isDisabled).toBe(false);
  });

  it('a full load that finishes after a newer one does not replace it (a token deleted, then imported back, stays)', async () => {
    const quiet = await createTestApp(db, { changePollIntervalMs: 60_000 });
    try {
      const made = await request(quiet.app).post('/admin/udapi/tokens').set(ADMIN).send({ name: 'load-overlap' });
      const { id: tokenId, secret } = made.body as { id: string; secret: string };
      const { catalog } = internalsOf(quiet.udapi);
      const stored = await tokens().findOne({ _id: tokenId as never });
      expect((await request(quiet.app).delete(`/admin/udapi/tokens/${tokenId}`).set(ADMIN)).status).toBe(204);
      // An older load (the health check's) reads the tokens while the token is deleted, and is held before it reads
      // the definitions; meanwhile the token is stored back and a newer load (an import's) reads it and swaps in.
      const models = catalog as unknown as { definitionModel: { find: (...args: unknown[]) => unknown } };
      const find = models.definitionModel.find.bind(models.definitionModel);
      const point = holdPoint();
      let calls = 0;
      const spy = jest.spyOn(models.definitionModel, 'find').mockImplementation((...args: unknown[]) => {
        calls += 1;
        if (calls > 1) return find(...args);
        point.reach();
        const query = find(...args) as { lean: () => { cursor: () => AsyncIterable<unknown> } };
        return {
          lean: () => ({
            cursor: async function* () {
              await point.held;
              yield* query.lean().cursor();
            },
          }),
        };
      });
      try {
        const older = catalog.load();
        await point.reached;
        await tokens().insertOne(stored!);
        await catalog.load();
        expect(catalog.tokenById(tokenId)?.id).toBe(tokenId);
        point.release();
        await older;
      } finally {
        spy.mockRestore();
      }
      expectInView(quiet, tokenId, secret);
    } finally {
      await quiet.udapi.close();
    }
  });

  it('starts within seconds and serves when the Redis of its change hints cannot be reached', async () => {
    // Port 9 (discard) on loopback: nothing listens, so the client keeps reconnecting and queues the subscribe.
    const redis = new Redis('redis://127.0.0.1:9', { lazyConnect: true, retryStrategy: () => 200 });
    const started = Date.now();
    const hinted = await createTestApp(db, { changeHints: { redis, channel: 'udapi-test:unreachable' } });
    try {
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(
        hinted.logs.some((line) =>
          /change-hint subscription is not confirmed|subscribe to change hints/.test(line.msg ?? ''),
        ),
      ).toBe(true);
      const { secret } = await setup('feed/no-redis');
      const host = express().use('/api/custom', hinted.udapi.endpoint());
      await waitFor(
        async () =>
          (await request(host).get('/api/custom/feed/no-redis').set('Authorization', `Bearer ${secret}`)).status ===
          200,
        3000,
      );
    } finally {
      await hinted.udapi.close();
      redis.disconnect();
    }
  });

  // In-process twin of the multi-process test (which jest's coverage cannot see): the poll timers are 30 s here.
  itWithRedis('applies a change from another instance at its hint, long before its poll timer', async () => {
    const channel = `udapi-test:${randomUUID()}`;
    const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)] as const;
    const [a, b] = [
      await createTestApp(db, { changeHints: { redis: clients[0], channel }, changePollIntervalMs: 30_000 }),
      await createTestApp(db, { changeHints: { redis: clients[1], channel }, changePollIntervalMs: 30_000 }),
    ];
    try {
      for (let change = 0; change < 3; change += 1) {
        const token = await request(a.app)
          .post('/admin/udapi/tokens')
          .set(ADMIN)
          .send({ name: `hinted-${change}` });
        await waitFor(() => Promise.resolve(internalsOf(b.udapi).catalog.tokenById(token.body.id) !== undefined), 2000);
      }
    } finally {
      await a.udapi.close();
      await b.udapi.close();
      clients.forEach((client) => client.disconnect());
    }
  });

  it('logs once, and changes nothing else, when a hint cannot be published or subscribed to', async () => {
    // No offline queue and never connected: every command is refused at once.
    const redis = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    const broken = await createTestApp(db, { changeHints: { redis, channel: 'udapi-test:broken' } });
    try {
      for (const name of ['unhinted-1', 'unhinted-2'])
        expect((await request(broken.app).post('/admin/udapi/tokens').set(ADMIN).send({ name })).status).toBe(201);
      const messages = broken.logs.map((line) => line.msg ?? '');
      expect(messages.filter((msg) => msg.startsWith('Could not subscribe to change hints'))).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the second publish's refusal settles
      expect(broken.logs.filter((line) => (line.msg ?? '').startsWith('Could not publish a change hint'))).toHaveLength(
        1,
      );
    } finally {
      await broken.udapi.close();
      redis.disconnect();
    }
  });
});
