// The real pino, bunyan, winston and console as the host's logger: each line's message, fields and level reach the library, and no secret does.
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import bunyan from 'bunyan';
import express from 'express';
import mongoose from 'mongoose';
import pino from 'pino';
import request from 'supertest';
import winston from 'winston';
import { ALL_PERMISSIONS, createUserDefinedApis, type UserDefinedApisOptions } from '../src';
import { TEST_PEPPER } from './helpers/app';
import { openTestDb, type TestDb } from './helpers/db';
import { registerLeakSource } from './helpers/leak-registry';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** One line as the library wrote it, read back into the same shape for every library. */
interface Written {
  level: Level;
  msg: string;
  fields: Record<string, unknown>;
}

/** pino and bunyan number their levels alike. */
const NUMERIC_LEVELS: Record<number, Level> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' };

function sink(onLine: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') onLine(text);
      done();
    },
  });
}

interface Library {
  logger: NonNullable<UserDefinedApisOptions['logger']>;
  /** Everything the library wrote, as text, for the secret scan. */
  raw: string[];
  lines: Written[];
}

/** What pino and bunyan wrote: JSON lines with numeric levels and the message in `msg`. */
function numericLevelCapture(logger: Library['logger'], raw: string[]): Library {
  return {
    logger,
    raw,
    get lines() {
      return raw.map((text) => {
        const record = JSON.parse(text) as Record<string, unknown>;
        return { level: NUMERIC_LEVELS[record.level as number]!, msg: record.msg as string, fields: record };
      });
    },
  };
}

const libraries: Record<string, () => Library> = {
  pino: () => {
    const raw: string[] = [];
    const logger = pino(
      { level: 'debug' },
      sink((text) => raw.push(text)),
    );
    return numericLevelCapture(logger, raw);
  },
  bunyan: () => {
    const raw: string[] = [];
    const logger = bunyan.createLogger({
      name: 'host',
      level: 'debug',
      streams: [{ stream: sink((text) => raw.push(text)) }],
    });
    return numericLevelCapture(logger, raw);
  },
  winston: () => {
    const raw: string[] = [];
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: sink((text) => raw.push(text)) })],
    });
    return {
      logger,
      raw,
      get lines() {
        return raw.map((text) => {
          const record = JSON.parse(text) as Record<string, unknown>;
          return { level: record.level as Level, msg: record.message as string, fields: record };
        });
      },
    };
  },
  console: () => {
    // A real Console: debug and info go to stdout, warn and error to stderr, each as the message then the fields.
    const raw: string[] = [];
    const written: { stderr: boolean; text: string }[] = [];
    const logger = new Console({
      stdout: sink((text) => (raw.push(text), written.push({ stderr: false, text }))),
      stderr: sink((text) => (raw.push(text), written.push({ stderr: true, text }))),
      inspectOptions: { breakLength: Infinity, depth: 4 },
    });
    return {
      logger,
      raw,
      get lines() {
        return written.map(({ stderr, text }): Written => {
          // "<message> { stream: 'endpoint', requestId: '…', … }": the fields, read back from util.inspect's output.
          const at = text.indexOf(' {');
          const fields = Object.fromEntries(
            [...text.slice(at).matchAll(/(\w+): (?:'([^']*)'|([\w.-]+))/g)].map(([, key, quoted, bare]) => [
              key,
              quoted ?? (bare !== undefined && /^[\d.]+$/.test(bare) ? Number(bare) : bare),
            ]),
          );
          // Console cannot tell debug from info, nor warn from error: the stream says which pair.
          return { level: stderr ? 'error' : 'info', msg: text.slice(0, at), fields };
        });
      },
    };
  },
};

/** winston hands lines to its transports on a later tick; the others write at once. Bounded: 2 s. */
async function settled(library: Library, done: (lines: Written[]) => boolean): Promise<Written[]> {
  const deadline = Date.now() + 2000;
  while (!done(library.lines) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return library.lines;
}

describe.each(Object.keys(libraries))('the host logger is %s', (name) => {
  let db: TestDb;
  let library: Library;
  let udapi: ReturnType<typeof createUserDefinedApis>;
  const app = express();
  let secret = '';
  let tokenId = '';

  beforeAll(async () => {
    db = await openTestDb();
    library = libraries[name]!();
    registerLeakSource(`${name} output`, () => library.raw);
    udapi = createUserDefinedApis({
      connection: db.connection,
      pepper: TEST_PEPPER,
      bcryptRounds: 4,
      instanceId: `node-${name}`,
      logger: library.logger,
      authenticateAdmin: () => ({ name: 'alice', permissions: ALL_PERMISSIONS }),
    });
    udapi.registerHandler('lib.ok', () => ({ responseCode: 200, responseBody: { ok: true } }));
    udapi.registerHandler('lib.throws', () => {
      throw new Error('the action failed on purpose');
    });
    await udapi.ready();
    app.use('/admin/udapi', udapi.adminRouter());
    app.use('/api/custom', udapi.endpoint());
    const created = await request(app).post('/admin/udapi/tokens').send({ name: 'lib-token' }).expect(201);
    ({ secret, id: tokenId } = created.body as { secret: string; id: string });
    for (const [route, action] of [
      ['lib/ok', 'lib.ok'],
      ['lib/throws', 'lib.throws'],
    ])
      await request(app)
        .post('/admin/udapi/definitions')
        .send({ route, actionMeta: { name: action }, securitySettings: { allowedTokens: [tokenId] } })
        .expect(201);
    await request(app).get('/api/custom/lib/ok').set('Authorization', `Bearer ${secret}`).expect(200);
    await request(app).get('/api/custom/lib/throws').set('Authorization', `Bearer ${secret}`).expect(500);
    await request(app)
      .get('/api/custom/lib/ok')
      .set('Authorization', `Bearer ${'x'.repeat(44)}`)
      .expect(401);
  });

  afterAll(async () => {
    await udapi.close();
    await db.drop();
  });

  const endLine = (lines: Written[], status: number) =>
    lines.find((line) => line.msg.startsWith('Handling API trigger') && line.fields.status === status);

  it('a change: the manager line with its message, fields and level', async () => {
    const lines = await settled(library, (all) => all.some((line) => line.msg.startsWith('Created ApiToken')));
    const created = lines.find((line) => line.msg.startsWith('Created ApiToken'));
    expect(created?.msg).toBe(`Created ApiToken 'lib-token' (${tokenId})`);
    expect(created?.level).toBe('info');
    expect(created?.fields).toMatchObject({
      stream: 'manager',
      instanceId: `node-${name}`,
      user: 'alice',
      objectType: 'ApiToken',
      objectId: tokenId,
    });
  });

  it('a call: the start and end lines, with the request id, route, status and token', async () => {
    const lines = await settled(library, (all) => endLine(all, 401) !== undefined);
    const end = endLine(lines, 200);
    expect(end?.msg).toMatch(
      new RegExp(
        `^Handling API trigger \\S+ for route 'lib/ok' SUCCEEDED after [\\d.]+ ms\\. Response code: 200\\. \\(Token ID: ${tokenId}\\)$`,
      ),
    );
    expect(end?.level).toBe('info');
    expect(end?.fields).toMatchObject({ stream: 'endpoint', route: 'lib/ok', status: 200, tokenId });
    expect(typeof end?.fields.durationMs).toBe('number');
    const start = lines.find(
      (line) => line.msg === `Started handling API trigger ${String(end?.fields.requestId)} for route 'lib/ok'`,
    );
    expect(start).toMatchObject({ level: 'info', fields: { stream: 'endpoint', requestId: end?.fields.requestId } });
    expect(endLine(lines, 401)).toMatchObject({ level: 'info', fields: { route: 'lib/ok', status: 401 } });
  });

  it('a failure: the error lines at error level, with the error summarised', async () => {
    const lines = await settled(library, (all) => endLine(all, 500) !== undefined);
    const threw = lines.find((line) => line.msg === 'The action threw');
    expect(threw?.level).toBe('error');
    expect(JSON.stringify(threw?.fields)).toContain('the action failed on purpose');
    expect(endLine(lines, 500)).toMatchObject({ level: 'error', fields: { route: 'lib/throws', status: 500 } });
  });

  it('never receives the secret', async () => {
    await settled(library, (all) => endLine(all, 500) !== undefined);
    expect(library.raw.length).toBeGreaterThan(5);
    expect(library.raw.join('\n')).not.toContain(secret);
  });
});

describe('the logger style', () => {
  const connection = mongoose.createConnection();
  const base = { connection, pepper: TEST_PEPPER, authenticateAdmin: () => null };
  afterAll(() => connection.close());

  it('loggerStyle overrides the recognition: a winston logger called pino-style loses its message, as before', async () => {
    const raw: string[] = [];
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: sink((text) => raw.push(text)) })],
    });
    // A wrapper that hides winston's add/remove/configure: it is taken for pino and the message is lost, as it was
    // for every winston logger before; loggerStyle 'winston' says how to call it.
    const wrapper = {
      ...(['debug', 'info', 'warn', 'error', 'log', 'child'] as const).reduce(
        (methods, method) => ({
          ...methods,
          [method]: (logger[method] as (...args: unknown[]) => unknown).bind(logger),
        }),
        {},
      ),
    } as unknown as NonNullable<UserDefinedApisOptions['logger']>;
    for (const [style, expected] of [
      [undefined, undefined],
      ['winston', 'Endpoint action concurrency limit'],
    ] as const) {
      raw.length = 0;
      const udapi = createUserDefinedApis({ ...base, logger: wrapper, loggerStyle: style });
      udapi.endpoint();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const line = JSON.parse(raw.find((text) => text.includes('maxConcurrentActions'))!) as Record<string, unknown>;
      expect(typeof line.message === 'string' ? line.message : undefined).toBe(expected);
      await udapi.close();
    }
  });

  it('refuses a winston logger without the levels the package logs at, and a style the logger does not fit', () => {
    const syslog = winston.createLogger({ levels: winston.config.syslog.levels, transports: [] });
    expect(() => createUserDefinedApis({ ...base, logger: syslog })).toThrow(
      /lacks the level warn the package logs at/,
    );
    expect(() => createUserDefinedApis({ ...base, logger: console, loggerStyle: 'pino' })).toThrow(
      /style pino must have the methods debug, info, warn, error, child/,
    );
    expect(() => createUserDefinedApis({ ...base, logger: console, loggerStyle: 'log4j' as never })).toThrow(
      /`loggerStyle` must be one of pino, bunyan, winston, console/,
    );
  });
});
