// POST /definitions/input-check over HTTP: the problems a save would refuse, with nothing stored, and its permission.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Permissions } from '../src/permissions';
import { ADMIN, openTestHost, userWith, type TestHost } from './helpers/app';

let host: TestHost;

beforeAll(async () => {
  host = await openTestHost();
});

afterAll(async () => {
  await host?.close();
});

const check = (body: unknown, headers: Record<string, string> = ADMIN) =>
  request(host.app)
    .post('/admin/udapi/definitions/input-check')
    .set(headers)
    .send(body as object);

const admin = {
  get: (path: string) => request(host.app).get(`/admin/udapi${path}`).set(ADMIN),
  post: (path: string, body: object) => request(host.app).post(`/admin/udapi${path}`).set(ADMIN).send(body),
};

const FINE = {
  body: {
    type: 'object',
    required: ['item'],
    properties: { item: { type: 'string', pattern: '^[a-z-]+$', maxLength: 40 } },
  },
  query: { type: 'object', properties: { limit: { type: 'integer', minimum: 1 } } },
  route: { type: 'object', properties: { id: { type: 'string', format: 'uuid', maxLength: 36 } } },
};

function fields(res: { body: { problems?: { field: string }[] } }): string[] {
  return (res.body.problems ?? []).map((problem) => problem.field);
}

describe('POST /definitions/input-check', () => {
  it('answers no problems for schemas a save accepts, and stores nothing', async () => {
    const before = (await admin.get('/definitions/count')).body.count as number;
    const res = await check({ route: 'orders/{id}', input: FINE });
    expect([res.status, res.body]).toEqual([200, { problems: [] }]);
    // Empty and boolean schemas are fine too; so is a route left out when there is no route schema.
    expect((await check({ input: {} })).body).toEqual({ problems: [] });
    expect((await check({ input: { body: true, query: false } })).body).toEqual({ problems: [] });
    expect((await admin.get('/definitions/count')).body.count).toBe(before);
  });

  it('lists each problem with its field and message, as a save refuses them', async () => {
    const input = {
      body: {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: '^(a+)+$' },
          code: { $ref: 'https://example.com/schema.json' },
        },
      },
      query: { type: 'object', properties: { when: { type: 'string', format: 'date-time' } } },
      route: { type: 'object', properties: { slug: { type: 'string' } } },
    };
    const res = await check({ route: 'orders/{id}', input });
    expect(res.status).toBe(200);
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        { field: 'input.body/properties/name/pattern', message: expect.stringContaining('maxLength') },
        { field: 'input.body/properties/name/pattern', message: expect.stringContaining('repeats a group') },
        { field: 'input.body/properties/code/$ref', message: expect.stringContaining('inside the same schema') },
        { field: 'input.query/properties/when/format', message: expect.stringContaining('maxLength') },
      ]),
    );
    // The route part is judged against the route sent: {slug} is not one of its parameters.
    const routeProblem = res.body.problems.find((problem: { field: string }) =>
      problem.field.startsWith('input.route'),
    );
    expect(routeProblem).toEqual({
      field: 'input.route/properties/slug',
      message: 'The route has no parameter {slug}; it has {id}.',
    });
    expect((await check({ route: 'orders/{slug}', input: { route: input.route } })).body).toEqual({ problems: [] });
    expect(fields(await check({ input: { route: input.route } }))).toEqual(['input.route/properties/slug']);

    // Exactly the items a save answers, reason aside.
    const saved = await admin.post('/definitions', {
      route: `check-${randomUUID().slice(0, 8)}/{id}`,
      actionMeta: { name: 'test.echo' },
      input,
    });
    expect(saved.status).toBe(400);
    expect(
      saved.body.errors.map(({ field, message }: { field: string; message: string }) => ({ field, message })),
    ).toEqual(res.body.problems);
    expect(saved.body.errors.every((error: { reason: string }) => error.reason === 'InvalidInputSchema')).toBe(true);
  });

  it('reports a part that is no schema, an unknown part and what ajv strict mode refuses as problems, not 400', async () => {
    expect((await check({ input: { body: 5 } })).body).toEqual({
      problems: [{ field: 'input.body', message: 'A schema must be a JSON object or a boolean.' }],
    });
    expect(fields(await check({ input: { headers: {} } }))).toEqual(['input.headers']);
    expect(fields(await check({ input: { body: { type: 'object', properties: { a: { typo: 1 } } } } }))).toEqual([
      'input.body',
    ]);
    // ajv's meta-schema errors, each with its path.
    const unknownType = fields(await check({ input: { query: { type: 'nothing' } } }));
    expect(unknownType.length).toBeGreaterThan(0);
    expect(unknownType.every((field) => field === 'input.query/type')).toBe(true);
    const big = { body: { type: 'object', description: 'x'.repeat(70_000) } };
    expect(fields(await check({ input: big }))).toEqual(['input']);
  });

  it('needs the definition read permission, and only that', async () => {
    const refused = await check(
      { input: FINE },
      userWith(Permissions.DefinitionCreateUpdate, Permissions.ActionExecute),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ reason: 'MissingPermission', permission: Permissions.DefinitionRead }),
    ]);
    const reader = await check({ route: 'orders/{id}', input: FINE }, userWith(Permissions.DefinitionRead));
    expect([reader.status, reader.body]).toEqual([200, { problems: [] }]);
    expect((await check({ input: FINE }, {})).status).toBe(401);
  });

  it.each([
    ['a body that is not an object', [FINE]],
    ['an unknown field', { input: FINE, save: true }],
  ])('refuses %s with 400 InvalidRequest', async (_what, body) => {
    const res = await check(body);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ reason: 'InvalidRequest' });
  });

  it("refuses a wrong type of route or input, or no input, with that field's reason, as a save does", async () => {
    const route = await check({ route: 7, input: {} });
    expect([route.status, route.body.errors[0]]).toEqual([400, expect.objectContaining({ reason: 'InvalidRoute' })]);
    const missing = await check({ route: 'orders' });
    expect([missing.status, missing.body.errors[0]]).toEqual([
      400,
      expect.objectContaining({ reason: 'InvalidInputSchema', field: 'input' }),
    ]);
    const input = await check({ input: 'schema' });
    expect([input.status, input.body.errors[0]]).toEqual([
      400,
      expect.objectContaining({ reason: 'InvalidInputSchema', field: 'input' }),
    ]);
  });

  it('is no definition id: reads and changes of /definitions/input-check find nothing', async () => {
    expect((await admin.get('/definitions/input-check')).status).toBe(404);
    const patch = await request(host.app)
      .patch('/admin/udapi/definitions/input-check')
      .set(ADMIN)
      .send({ description: 'x' });
    expect(patch.status).toBe(404);
    expect((await request(host.app).delete('/admin/udapi/definitions/input-check').set(ADMIN)).status).toBe(404);
  });
});
