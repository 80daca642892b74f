// The admin web UI in a real browser (Chromium from the npm package @sparticuz/chromium, or CHROMIUM_PATH, through playwright-core) against the example app as a real process.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import request from 'supertest';
import { parseRoute } from '../src/domain/route-grammar';
import { descriptionProblem, nameProblem, optionalNameProblem } from '../src/domain/validation-rules';
import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { propertySeed } from './helpers/seed';

// The test project has no DOM library; these are the browser globals the page functions below use.
declare const navigator: { clipboard: { readText(): Promise<string>; writeText(text: string): Promise<void> } };
declare const localStorage: object;
declare const sessionStorage: object;
declare const document: { querySelector(selector: string): unknown };

const SCREENSHOTS = path.join(__dirname, '..', 'test-output', 'ui');
const BASE_PATH = '/api/custom';

let app: ExampleApp | undefined;
let browser: Browser | undefined;
/** Everything a page reported as an error: script errors, failed console messages (CSP violations among them). */
const pageProblems: string[] = [];

async function openUi(user: 'admin' | 'viewer'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser!.newContext({
    httpCredentials: { username: user, password: user },
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app!.baseUrl });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`${user}: ${error.message}`));
  // Refusals (4xx) of the admin API are expected in these flows and are shown in words; anything else is a problem.
  page.on('response', (response) => {
    const refusal = response.status() < 500 && !response.url().includes('/ui/');
    if (response.status() >= 400 && !refusal)
      pageProblems.push(`${user}: ${response.status()} ${response.request().method()} ${response.url()}`);
  });
  page.on('console', (message) => {
    const refusalReport = /^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
    if (message.type() === 'error' && !refusalReport) pageProblems.push(`${user}: ${message.text()}`);
  });
  await page.goto(`${app!.baseUrl}/admin/udapi/ui`);
  await page.waitForSelector('body[data-ready="true"]');
  return { context, page };
}

const row = (page: Page, panel: 'apis' | 'tokens', text: string) =>
  page.locator(`#${panel}-panel tbody tr`, { hasText: text });

/** Waits until the element's text is `expected` (or, with `contains`, includes it); fails with the last text seen. */
/**
 * Clicks a button that opens the confirmation dialog and waits for the dialog to show `title`. Right after a tab
 * switch the list re-renders, and a click can land on the row being replaced (seen once in CI): click again then.
 */
async function openConfirm(page: Page, button: Locator, title: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    await button.click();
    try {
      await page.locator('#confirm-title', { hasText: title }).waitFor({ state: 'visible', timeout: 5000 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function expectText(
  locator: Locator,
  expected: string,
  { contains = false, timeoutMs = 10_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let text: string | null = null;
  for (;;) {
    text = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    if (text !== null && (contains ? text.includes(expected) : text === expected)) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (contains) expect(text).toContain(expected);
  else expect(text).toBe(expected);
}

async function screenshot(page: Page, name: string, mask: string[] = []): Promise<void> {
  await page.screenshot({
    path: path.join(SCREENSHOTS, `${name}.png`),
    mask: mask.map((selector) => page.locator(selector)),
  });
}

/** Waits until the locator matches `count` elements; fails with the last count seen. */
async function expectCount(locator: Locator, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = await locator.count();
  while (seen !== count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen = await locator.count();
  }
  expect(seen).toBe(count);
}

/**
 * Waits until GET /usage shows at least `calls` calls: the example app writes its counts every 15 s (the default
 * usageIntervalMs), and a process cannot be told from here to write them sooner.
 */
async function usageWritten(filter: Record<string, string>, calls: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await request(app!.baseUrl)
      .get('/admin/udapi/usage')
      .query({ ...filter, bucket: 'minute' })
      .auth('admin', 'admin');
    expect(res.status).toBe(200);
    if ((res.body.totals.calls as number) >= calls) return;
    if (Date.now() > deadline) throw new Error(`usage of ${JSON.stringify(filter)}: ${res.body.totals.calls} calls`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The calls the chart's bars say they hold, summed from their titles ("2026-12-01 10:05:00 UTC: 3 calls: …"). */
async function callsInBars(chart: Locator): Promise<number> {
  const titles = await chart.locator('svg g.bucket title').allTextContents();
  return titles.reduce((sum, title) => sum + Number(/UTC: (\d+) calls?:/.exec(title)![1]), 0);
}

async function clipboard(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

async function createTokenThroughApi(name: string): Promise<{ id: string; secret: string }> {
  const res = await request(app!.baseUrl).post('/admin/udapi/tokens').auth('admin', 'admin').send({ name });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

/** A few tokens and APIs like a real installation's, so that the screenshots show a working table. */
async function seedExampleContent(): Promise<{ remove(): Promise<void> }> {
  const admin = (method: 'post' | 'delete', url: string, body?: object) =>
    request(app!.baseUrl)[method](`/admin/udapi${url}`).auth('admin', 'admin').send(body);
  const billing = (
    await admin('post', '/tokens', { name: 'billing-service', rateLimit: { limit: 100, windowSeconds: 60 } })
  ).body as { id: string };
  const monitoring = (await admin('post', '/tokens', { name: 'monitoring', isDisabled: true })).body as { id: string };
  const definitions: string[] = [];
  for (const body of [
    {
      route: 'encoders',
      name: 'Encoders',
      description: 'All encoders; ?status=running filters',
      actionMeta: { name: 'encoders.list' },
      securitySettings: { allowedTokens: [billing.id, monitoring.id] },
    },
    {
      route: 'encoders/{id}',
      name: 'One encoder',
      actionMeta: { name: 'encoders.get' },
      securitySettings: { allowedTokens: [monitoring.id] },
    },
    {
      route: 'encoders/{id}/restart',
      actionType: 'procedure',
      actionMeta: { name: 'encoders.restart' },
      securitySettings: { allowedTokens: [billing.id] },
    },
    {
      route: 'tickets',
      name: 'Open a ticket',
      actionMeta: { name: 'tickets.create', inputType: 'parameters' },
      securitySettings: { allowedTokens: [billing.id] },
    },
  ]) {
    const res = await admin('post', '/definitions', body);
    expect(res.status).toBe(201);
    definitions.push(res.body.id as string);
  }
  return {
    remove: async () => {
      for (const id of definitions) await admin('delete', `/definitions/${id}`);
      for (const token of [billing, monitoring]) await admin('delete', `/tokens/${token.id}`);
    },
  };
}

beforeAll(async () => {
  // CHROMIUM_PATH when set, else the build inside the npm package, unpacked once per machine (scripts/chromium.mjs).
  const executablePath = execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'chromium.mjs')], {
    encoding: 'utf8',
  }).trim();
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startExampleApp(`udapi_w${process.env.JEST_WORKER_ID ?? '0'}_ui`);
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  try {
    await browser?.close();
  } finally {
    await app?.stop();
  }
});

afterEach(() => {
  // A script error or a CSP violation in any page fails the test that caused it.
  expect(pageProblems.splice(0)).toEqual([]);
});

jest.setTimeout(60_000);

describe('admin web UI', () => {
  it('runs the whole flow: token, secret once, API, call, disable, refused delete, delete', async () => {
    const seeded = await seedExampleContent();
    const { context, page } = await openUi('admin');
    try {
      expect(page.url()).toBe(`${app!.baseUrl}/admin/udapi/ui/#apis`);
      await expectText(page.locator('#user'), 'Signed in as admin');

      // Create a token with a rate limit; the client-side check refuses a blank name without a request.
      await page.click('#tab-tokens');
      await page.click('#token-create');
      const writes: string[] = [];
      const recordWrite = (sent: { method(): string; url(): string }): void => {
        if (sent.method() !== 'GET') writes.push(`${sent.method()} ${sent.url()}`);
      };
      page.on('request', recordWrite);
      await page.fill('#token-form [name=name]', '   ');
      await page.click('#token-form button[type=submit]');
      await expectText(page.locator('#token-problems'), 'The name must not be empty or whitespace-only', {
        contains: true,
      });
      // The same for a control character (a name that would forge a line in the command line's table).
      await page.fill('#token-form [name=name]', 'ui\u001b[31mred');
      await page.click('#token-form button[type=submit]');
      await expectText(page.locator('#token-problems'), 'found U+001B', { contains: true });
      page.off('request', recordWrite);
      expect(writes).toEqual([]);
      await page.fill('#token-form [name=name]', 'ui-consumer');
      await page.check('#token-form [name=limited]');
      await page.fill('#token-form [name=limit]', '500');
      await page.click('#token-form button[type=submit]');
      await expectText(page.locator('#token-problems'), 'from 1 to 100 requests', { contains: true });
      await page.fill('#token-form [name=limit]', '50');
      await page.fill('#token-form [name=windowSeconds]', '60');
      await screenshot(page, 'token-dialog');
      await page.click('#token-form button[type=submit]');

      // The secret is shown once, can be copied, and is gone from the page when the dialog closes.
      await page.waitForSelector('#secret-dialog[open]');
      const secret = (await page.locator('#secret-value').textContent())!;
      expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      await expectText(page.locator('#secret-dialog .warning'), 'cannot be shown again', { contains: true });
      await screenshot(page, 'token-secret', ['#secret-value']);
      await page.click('#secret-copy');
      await expectText(page.locator('#secret-copy'), 'Copied');
      expect(await clipboard(page)).toBe(secret);
      await page.click('#secret-dialog button[value=done]');
      await expectText(page.locator('#secret-value'), '');
      expect(await page.content()).not.toContain(secret);
      expect(page.url()).not.toContain(secret);
      await page.evaluate(() => navigator.clipboard.writeText(''));
      const tokenRow = row(page, 'tokens', 'ui-consumer');
      await expectText(tokenRow.locator('[data-column="Rate limit"]'), '50 per 60 s');
      await expectText(tokenRow.locator('[data-column="State"]'), 'Enabled');
      const tokenId = (await tokenRow.getAttribute('data-id'))!;

      // Create an API: live route feedback, the action, and the token chosen by searching its name.
      await page.click('#tab-apis');
      await page.click('#api-create');
      await page.fill('#api-form [name=route]', 'ui-status/x{id}');
      await expectText(page.locator('#api-route-hint'), 'a parameter must fill the whole segment', { contains: true });
      await page.fill('#api-form [name=route]', 'ui-status/{id}');
      await expectText(page.locator('#api-route-hint'), `URL: ${app!.baseUrl}${BASE_PATH}/ui-status/{id}`);
      await page.fill('#api-form [name=name]', 'UI status <b>bold</b>');
      await page.selectOption('#api-form [name=action]', 'handler:debug.echo');
      await page.fill('#api-token-search', 'consum');
      await page.click(`#api-tokens .results [data-token-id="${tokenId}"]`);
      await expectText(page.locator('#api-tokens .chips'), 'ui-consumer×');
      await screenshot(page, 'api-dialog');
      await page.click('#api-form button[type=submit]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
      const apiRow = row(page, 'apis', 'ui-status/{id}');
      await expectText(apiRow.locator('[data-column="Allowed tokens"]'), 'ui-consumer');
      const apiId = (await apiRow.getAttribute('data-id'))!;
      // User content is text, never markup.
      await expectText(apiRow.locator('[data-column="Name"] .name'), 'UI status <b>bold</b>');
      expect(await apiRow.locator('b').count()).toBe(0);
      await screenshot(page, 'apis');

      // The consumer calls it with the secret.
      const call = () =>
        request(app!.baseUrl).get(`${BASE_PATH}/ui-status/42`).set('Authorization', `Bearer ${secret}`);
      const ok = await call();
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ routeParameters: { id: '42' } });

      // A conflicting route is refused, and the explanation names the API that has it.
      await page.click('#api-create');
      await page.fill('#api-form [name=route]', 'UI-STATUS/{other}');
      await page.selectOption('#api-form [name=action]', 'handler:debug.echo');
      await page.click('#api-form button[type=submit]');
      await expectText(
        page.locator('#api-problems'),
        'already used by the API "UI status <b>bold</b>" (ui-status/{id})',
        { contains: true },
      );
      await page.click('#api-form button[data-close]');

      // Copy the full URL of the API.
      await apiRow.getByRole('button', { name: /Copy the URL/ }).click();
      await expectText(page.locator('#status'), 'Copied', { contains: true });
      expect(await clipboard(page)).toBe(`${app!.baseUrl}${BASE_PATH}/ui-status/{id}`);

      // Disable the token: the next call is refused.
      await page.click('#tab-tokens');
      await tokenRow.getByRole('button', { name: 'Disable token ui-consumer' }).click();
      await expectText(tokenRow.locator('[data-column="State"]'), 'Disabled');
      const refused = await call();
      expect(refused.status).toBe(401);
      expect(refused.body.errors[0]).toMatchObject({ errorCode: 1010 });
      await screenshot(page, 'tokens');

      // Deleting the token while the API allows it is refused, with the API named.
      await tokenRow.getByRole('button', { name: 'Delete token ui-consumer' }).click();
      await expectText(page.locator('#confirm-title'), 'Delete token ui-consumer?');
      await screenshot(page, 'confirm-delete');
      await page.click('#confirm-ok');
      await expectText(page.locator('#status'), 'still allowed by the API "UI status <b>bold</b>" (ui-status/{id})', {
        contains: true,
      });
      expect(await tokenRow.count()).toBe(1);
      await screenshot(page, 'token-in-use');

      // Delete the API, then the token.
      await page.click('#tab-apis');
      await openConfirm(page, apiRow.getByRole('button', { name: /Delete API/ }), 'Delete the API');
      await page.click('#confirm-ok');
      await apiRow.waitFor({ state: 'detached' });
      expect((await request(app!.baseUrl).get(`/admin/udapi/definitions/${apiId}`).auth('admin', 'admin')).status).toBe(
        404,
      );
      await page.click('#tab-tokens');
      await openConfirm(
        page,
        tokenRow.getByRole('button', { name: 'Delete token ui-consumer' }),
        'Delete token ui-consumer?',
      );
      await page.click('#confirm-ok');
      await tokenRow.waitFor({ state: 'detached' });
      const gone = await request(app!.baseUrl).get(`/admin/udapi/tokens/${tokenId}`).auth('admin', 'admin');
      expect(gone.status).toBe(404);
      expect(app!.output()).not.toContain(secret);
    } finally {
      await context.close();
      await seeded.remove();
    }
  });

  it('rotates a secret: the new one is shown once and works, the old one stops', async () => {
    const token = await createTokenThroughApi('ui-rotated');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-rotation',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [token.id] },
      });
    expect(define.status).toBe(201);
    const call = (secret: string) =>
      request(app!.baseUrl).get(`${BASE_PATH}/ui-rotation`).set('Authorization', `Bearer ${secret}`);
    expect((await call(token.secret)).status).toBe(200);
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-tokens');
      await row(page, 'tokens', 'ui-rotated')
        .getByRole('button', { name: 'Rotate the secret of token ui-rotated' })
        .click();
      await expectText(page.locator('#rotate-message'), 'stops working at once', { contains: true });
      await page.click('#rotate-ok');
      await page.waitForSelector('#secret-dialog[open]');
      const rotated = (await page.locator('#secret-value').textContent())!;
      expect(rotated).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(rotated).not.toBe(token.secret);
      await page.keyboard.press('Escape');
      await expectText(page.locator('#secret-value'), '');
      expect(await page.content()).not.toContain(rotated);
      expect((await call(token.secret)).status).toBe(401);
      expect((await call(rotated)).status).toBe(200);

      // A rotation with a grace period: both secrets work until the admin ends it.
      await row(page, 'tokens', 'ui-rotated')
        .getByRole('button', { name: 'Rotate the secret of token ui-rotated' })
        .click();
      await page.selectOption('#rotate-grace', '86400');
      await expectText(page.locator('#rotate-message'), 'keeps working until the grace period ends', {
        contains: true,
      });
      await page.click('#rotate-ok');
      await page.waitForSelector('#secret-dialog[open]');
      const third = (await page.locator('#secret-value').textContent())!;
      await page.keyboard.press('Escape');
      expect((await call(rotated)).status).toBe(200);
      expect((await call(third)).status).toBe(200);
      await expectText(row(page, 'tokens', 'ui-rotated').locator('small.grace'), 'Previous secret until', {
        contains: true,
      });
      await row(page, 'tokens', 'ui-rotated')
        .getByRole('button', { name: 'End the grace period of token ui-rotated' })
        .click();
      await page.click('#confirm-ok');
      await expectText(page.locator('#status'), 'no longer works', { contains: true });
      expect((await call(rotated)).status).toBe(401);
      expect((await call(third)).status).toBe(200);
      await row(page, 'tokens', 'ui-rotated').locator('small.grace').waitFor({ state: 'detached' });
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it('shows when each token was last used, and lists the ones unused for a while', async () => {
    const used = await createTokenThroughApi('ui-used');
    const idle = await createTokenThroughApi('ui-idle');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-last-use',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [used.id] },
      });
    expect(
      (await request(app!.baseUrl).get(`${BASE_PATH}/ui-last-use`).set('Authorization', `Bearer ${used.secret}`))
        .status,
    ).toBe(200);
    // The example app writes last-use times every 200 ms.
    const lastUsed = async () =>
      (await request(app!.baseUrl).get(`/admin/udapi/tokens/${used.id}`).auth('admin', 'admin')).body.lastUsedAt as
        string | null;
    const deadline = Date.now() + 5000;
    while ((await lastUsed()) === null && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await lastUsed()).not.toBeNull();
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-tokens');
      // Found by its header, so that columns added before it (Starts with, Scopes) do not move the test.
      const headers = (await page.locator('#tokens-panel thead th').allTextContents()).map((text) => text.trim());
      const column = headers.indexOf('Last used');
      expect(column).toBeGreaterThan(-1);
      const lastUsedCell = (name: string) => row(page, 'tokens', name).locator('td').nth(column);
      expect(await lastUsedCell('ui-used').locator('time').getAttribute('datetime')).toBe(await lastUsed());
      await expectText(lastUsedCell('ui-idle'), 'Never');
      await page.selectOption('#token-unused', '7');
      await row(page, 'tokens', 'ui-used').waitFor({ state: 'detached' });
      await expectText(lastUsedCell('ui-idle'), 'Never');
      const unusedCount = (
        await request(app!.baseUrl)
          .get(`/admin/udapi/tokens/count?unusedSince=${new Date(Date.now() - 7 * 86_400_000).toISOString()}`)
          .auth('admin', 'admin')
      ).body.count as number;
      await expectText(page.locator('#tokens-panel .count'), `${unusedCount} token${unusedCount === 1 ? '' : 's'}`);
      await page.selectOption('#token-unused', '0');
      await row(page, 'tokens', 'ui-used').waitFor();
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
      for (const token of [used, idle])
        await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it('shows expiry, and edits it: an expired token turns enabled when its expiry is cleared', async () => {
    const res = await request(app!.baseUrl)
      .post('/admin/udapi/tokens')
      .auth('admin', 'admin')
      .send({ name: 'ui-expired', expiresAt: '2020-05-06T07:08:00Z' });
    expect(res.status).toBe(201);
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-tokens');
      const tokenRow = row(page, 'tokens', 'ui-expired');
      await expectText(tokenRow.locator('[data-column="State"]'), 'Expired');
      await expectText(tokenRow.locator('[data-column="Expires"]'), '2020-05-06 07:08:00 UTC');
      await tokenRow.getByRole('button', { name: 'Edit token ui-expired' }).click();
      expect(await page.inputValue('#token-form [name=expiresAt]')).toBe('2020-05-06T07:08');
      await page.fill('#token-form [name=expiresAt]', '2031-02-03T04:05');
      await page.click('#token-form button[type=submit]');
      await expectText(tokenRow.locator('[data-column="Expires"]'), '2031-02-03 04:05:00 UTC');
      await expectText(tokenRow.locator('[data-column="State"]'), 'Enabled');
      await tokenRow.getByRole('button', { name: 'Edit token ui-expired' }).click();
      await page.fill('#token-form [name=expiresAt]', '');
      await page.click('#token-form button[type=submit]');
      await expectText(tokenRow.locator('[data-column="Expires"]'), 'Never');
      const stored = await request(app!.baseUrl).get(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
      expect(stored.body.expiresAt).toBeNull();
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
    }
  });

  it("shows a token's start and scopes, and edits its scopes and metadata, refusing bad ones before sending", async () => {
    const res = await request(app!.baseUrl)
      .post('/admin/udapi/tokens')
      .auth('admin', 'admin')
      .send({ name: 'ui-scoped', scopes: ['orders:read'], metadata: { team: 'a' } });
    expect(res.status).toBe(201);
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-tokens');
      const tokenRow = row(page, 'tokens', 'ui-scoped');
      await expectText(tokenRow.locator('[data-column="Starts with"]'), `${res.body.start as string}…`);
      await expectText(tokenRow.locator('[data-column="Scopes"]'), 'orders:read');
      await tokenRow.getByRole('button', { name: 'Edit token ui-scoped' }).click();
      expect(await page.inputValue('#token-form [name=scopes]')).toBe('orders:read');
      expect(JSON.parse(await page.inputValue('#token-form [name=metadata]'))).toEqual({ team: 'a' });
      await page.fill('#token-form [name=scopes]', 'Orders');
      await page.click('#token-form button[type=submit]');
      await expectText(
        page.locator('#token-problems'),
        "The scope 'Orders' is not 1-64 characters of a-z 0-9 : . _ -.",
      );
      await page.fill('#token-form [name=scopes]', 'orders:read  orders:write');
      await page.fill('#token-form [name=metadata]', '{"$team": 1}');
      await page.click('#token-form button[type=submit]');
      // The server's rule, with its message: the form shows what the admin API answered.
      await expectText(page.locator('#token-problems'), 'The metadata key "$team" is not allowed', { contains: true });
      await page.fill('#token-form [name=metadata]', '');
      await page.click('#token-form button[type=submit]');
      await expectText(tokenRow.locator('[data-column="Scopes"]'), 'orders:read orders:write');
      const stored = await request(app!.baseUrl).get(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
      expect(stored.body).toMatchObject({ scopes: ['orders:read', 'orders:write'], metadata: null });
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${res.body.id}`).auth('admin', 'admin');
    }
  });

  it('edits the scopes an API requires, refusing bad ones before sending', async () => {
    const token = await createTokenThroughApi('ui-scope-holder');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-required-scopes',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [token.id], requiredScopes: ['orders:read'] },
      });
    expect(define.status).toBe(201);
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-apis');
      await row(page, 'apis', 'ui-required-scopes')
        .getByRole('button', { name: 'Edit API ui-required-scopes' })
        .click();
      expect(await page.inputValue('#api-form [name=requiredScopes]')).toBe('orders:read');
      await page.fill('#api-form [name=requiredScopes]', 'orders:read orders:read');
      await page.click('#api-form button[type=submit]');
      await expectText(page.locator('#api-problems'), 'Each scope may be listed once.');
      await page.fill('#api-form [name=requiredScopes]', 'orders:read  orders:write');
      await page.click('#api-form button[type=submit]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
      const stored = await request(app!.baseUrl)
        .get(`/admin/udapi/definitions/${define.body.id}`)
        .auth('admin', 'admin');
      expect(stored.body.securitySettings).toEqual({
        allowedTokens: [token.id],
        requiredScopes: ['orders:read', 'orders:write'],
      });
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it("edits an API's input schemas, with the server's problems shown while typing; clearing them removes input", async () => {
    const stored = async (id: string) =>
      (await request(app!.baseUrl).get(`/admin/udapi/definitions/${id}`).auth('admin', 'admin')).body as {
        input?: object;
      };
    const body = {
      type: 'object',
      required: ['name'],
      properties: { name: { type: 'string', pattern: '^[a-z]+$' } },
    };
    const route = { type: 'object', properties: { id: { type: 'string', maxLength: 36 } } };
    let id: string | undefined;
    const { context, page } = await openUi('admin');
    try {
      await page.click('#api-create');
      expect(await page.locator('#api-input').getAttribute('open')).toBeNull();
      await page.fill('#api-form [name=route]', 'ui-input/{id}');
      await page.selectOption('#api-form [name=action]', 'handler:debug.echo');
      await page.click('#api-input summary');
      const checks: string[] = [];
      const recordCheck = (sent: { method(): string; url(): string }): void => {
        if (sent.url().endsWith('/definitions/input-check')) checks.push(sent.method());
      };
      page.on('request', recordCheck);

      // Text that is not JSON is said so at once, without asking the server.
      await page.fill('#api-form [name=inputBody]', '{"type": "object",');
      await expectText(page.locator('#api-input-body-problems'), 'Not valid JSON', { contains: true });
      expect(await page.getAttribute('#api-form [name=inputBody]', 'aria-invalid')).toBe('true');
      expect(checks).toEqual([]);

      // The server's own rules, while typing: a pattern needs a maxLength; the route schema names only {id}.
      await page.fill('#api-form [name=inputBody]', JSON.stringify(body, null, 2));
      await expectText(
        page.locator('#api-input-body-problems'),
        'input.body/properties/name/pattern: A pattern needs a maxLength beside it, to bound its work.',
      );
      await page.fill('#api-form [name=inputRoute]', JSON.stringify({ properties: { slug: { type: 'string' } } }));
      await expectText(
        page.locator('#api-input-route-problems'),
        'input.route/properties/slug: The route has no parameter {slug}; it has {id}.',
      );
      await expectText(page.locator('#api-input-status'), '2 problems: a save would be refused.');
      // A route with {slug} makes the route schema right: the route field rechecks the schemas too.
      await page.fill('#api-form [name=route]', 'ui-input/{slug}');
      await expectText(page.locator('#api-input-route-problems'), '');
      await page.fill('#api-form [name=route]', 'ui-input/{id}');
      await page.fill('#api-form [name=inputRoute]', JSON.stringify(route));
      await expectText(page.locator('#api-input-route-problems'), '');
      expect(checks.length).toBeGreaterThan(0);
      expect(new Set(checks)).toEqual(new Set(['POST']));
      page.off('request', recordCheck);
      await screenshot(page, 'api-input');

      // Save stays possible; the server refuses, and the dialog says where.
      await page.click('#api-form button[type=submit]');
      await expectText(
        page.locator('#api-problems'),
        'input.body/properties/name/pattern: A pattern needs a maxLength beside it, to bound its work.',
      );
      const fixed = { ...body, properties: { name: { ...body.properties.name, maxLength: 40 } } };
      await page.fill('#api-form [name=inputBody]', JSON.stringify(fixed));
      await expectText(page.locator('#api-input-status'), 'Body, Route: the server accepts these schemas.');
      await expectText(page.locator('#api-input-body-problems'), '');
      await page.click('#api-form button[type=submit]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
      const apiRow = row(page, 'apis', 'ui-input/{id}');
      id = (await apiRow.getAttribute('data-id'))!;
      expect((await stored(id)).input).toEqual({ body: fixed, route });
      await expectText(apiRow.locator('[data-column="Action"] .badge.input'), 'input');

      // Editing shows the schemas as stored; clearing them all removes the input.
      await apiRow.getByRole('button', { name: 'Edit API ui-input/{id}' }).click();
      expect(await page.locator('#api-input').getAttribute('open')).not.toBeNull();
      expect(JSON.parse(await page.inputValue('#api-form [name=inputBody]'))).toEqual(fixed);
      expect(JSON.parse(await page.inputValue('#api-form [name=inputRoute]'))).toEqual(route);
      expect(await page.inputValue('#api-form [name=inputQuery]')).toBe('');
      await page.fill('#api-form [name=inputBody]', '');
      await page.fill('#api-form [name=inputRoute]', '  ');
      await expectText(page.locator('#api-input-status'), '');
      await page.click('#api-form button[type=submit]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
      expect(await stored(id)).not.toHaveProperty('input');
      await apiRow.locator('.badge.input').waitFor({ state: 'detached' });

      // Only the query now: an update adds it, and leaves the rest of the API as it was.
      await apiRow.getByRole('button', { name: 'Edit API ui-input/{id}' }).click();
      expect(await page.locator('#api-input').getAttribute('open')).toBeNull();
      await page.click('#api-input summary');
      const query = { type: 'object', properties: { limit: { type: 'integer', minimum: 1 } } };
      await page.fill('#api-form [name=inputQuery]', JSON.stringify(query));
      await expectText(page.locator('#api-input-status'), 'Query: the server accepts this schema.');
      await page.click('#api-form button[type=submit]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
      expect(await stored(id)).toMatchObject({ route: 'ui-input/{id}', input: { query } });
    } finally {
      await context.close();
      if (id) await request(app!.baseUrl).delete(`/admin/udapi/definitions/${id}`).auth('admin', 'admin');
    }
  });

  it('shows the viewer the input schemas read-only', async () => {
    const input = { body: { type: 'object', required: ['name'] }, query: { type: 'object' } };
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({ route: 'ui-viewer-input', actionMeta: { name: 'debug.echo' }, input });
    expect(define.status).toBe(201);
    const { context, page } = await openUi('viewer');
    try {
      const apiRow = row(page, 'apis', 'ui-viewer-input');
      await expectText(apiRow.locator('[data-column="Action"] .badge.input'), 'input');
      await apiRow.getByRole('button', { name: 'View API ui-viewer-input' }).click();
      await expectText(page.locator('#api-dialog-title'), 'API ui-viewer-input');
      expect(await page.locator('#api-input').getAttribute('open')).not.toBeNull();
      const bodyArea = page.locator('#api-form [name=inputBody]');
      expect(JSON.parse(await bodyArea.inputValue())).toEqual(input.body);
      expect(JSON.parse(await page.inputValue('#api-form [name=inputQuery]'))).toEqual(input.query);
      expect(await bodyArea.evaluate((area) => (area as unknown as { readOnly: boolean }).readOnly)).toBe(true);
      expect(await page.locator('#api-form [name=route]').isEditable()).toBe(false);
      expect(await page.locator('#api-form button[type=submit]').isVisible()).toBe(false);
      await screenshot(page, 'viewer-api');
      await page.click('#api-form button[data-close]');
      await page.locator('#api-dialog').waitFor({ state: 'hidden' });
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
    }
  });

  it('searches and pages on the server', async () => {
    const created = [];
    for (let i = 0; i < 55; i += 1) created.push(await createTokenThroughApi(`ui-page-${String(i).padStart(2, '0')}`));
    await createTokenThroughApi('ui-needle.*');
    const { context, page } = await openUi('admin');
    try {
      await page.click('#tab-tokens');
      const panel = page.locator('#tokens-panel');
      await panel.locator('input[type=search]').fill('UI-PAGE');
      await expectText(panel.locator('.count'), '55 tokens');
      expect(await panel.locator('tbody tr').count()).toBe(50);
      await expectText(panel.locator('.page'), '1–50 of 55');
      await panel.getByRole('button', { name: 'Next' }).click();
      await expectText(panel.locator('.page'), '51–55 of 55');
      expect(await panel.locator('tbody tr').count()).toBe(5);
      // The search text is literal, not a pattern.
      await panel.locator('input[type=search]').fill('needle.*');
      await expectText(panel.locator('.count'), '1 token');
      await panel.locator('input[type=search]').fill('page.*');
      await expectText(panel.locator('.count'), '0 tokens');
      await expectText(panel.locator('td.empty'), 'No tokens match "page.*".');
    } finally {
      await context.close();
      for (const token of created)
        await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it('shows the viewer a read-only UI, and the server refuses the viewer anyway', async () => {
    const token = await createTokenThroughApi('ui-viewer-sees');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-viewer/{id}',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [token.id] },
      });
    expect(define.status).toBe(201);
    const { context, page } = await openUi('viewer');
    try {
      await expectText(page.locator('#user'), 'Signed in as viewer');
      const apiRow = row(page, 'apis', 'ui-viewer/{id}');
      await expectText(apiRow.locator('[data-column="Allowed tokens"]'), 'ui-viewer-sees');
      expect(await page.locator('#api-create').count()).toBe(0);
      expect(await apiRow.getByRole('button', { name: /Edit|Delete/ }).count()).toBe(0);
      expect(await apiRow.getByRole('button', { name: /Copy the URL/ }).count()).toBe(1);
      await page.click('#tab-tokens');
      await row(page, 'tokens', 'ui-viewer-sees').waitFor();
      expect(await page.locator('#token-create').count()).toBe(0);
      // Usage is the one action a viewer has.
      expect(await page.locator('#tokens-panel tbody button:not([aria-label^="Usage of"])').count()).toBe(0);
      await screenshot(page, 'viewer-tokens');
      await row(page, 'tokens', 'ui-viewer-sees')
        .getByRole('button', { name: 'Usage of token ui-viewer-sees' })
        .click();
      await expectText(page.locator('#usage-dialog .usage-summary'), 'Last hour', { contains: true });
      await page.click('#usage-dialog button[data-close]');
      await page.locator('#usage-dialog').waitFor({ state: 'hidden' });
      const attempt = await page.evaluate(async () => {
        const response = await fetch('../tokens', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'forged' }),
        });
        return { status: response.status, body: (await response.json()) as { errors: unknown[] } };
      });
      expect(attempt).toEqual({
        status: 403,
        body: {
          errors: [
            expect.objectContaining({ reason: 'MissingPermission', permission: 'UserDefinableApiTokenCreateUpdate' }),
          ],
        },
      });
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it('tries an API with a secret, explains a refusal, and charts the calls per API, per token and overall', async () => {
    const token = await createTokenThroughApi('ui-usage-token');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-usage/{id}',
        name: 'Usage <i>chart</i>',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [token.id] },
      });
    expect(define.status).toBe(201);
    const definitionId = define.body.id as string;
    const { context, page } = await openUi('admin');
    try {
      // Try it: nothing is sent before the route parameter and the secret are filled in.
      const apiRow = row(page, 'apis', 'ui-usage/{id}');
      await apiRow.getByRole('button', { name: 'Try API ui-usage/{id}' }).click();
      await expectText(page.locator('#try-title'), 'Try API ui-usage/{id}');
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-problems'), 'Fill the route parameter {id}.', { contains: true });
      await page.fill('#try-parameters [data-parameter=id]', 'a b');
      await page.fill('#try-form [name=query]', 'x=1');
      await page.fill('#try-form [name=secret]', token.secret);
      await expectText(page.locator('#try-url'), `GET ${app!.baseUrl}${BASE_PATH}/ui-usage/a%20b?x=1`);
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-status'), '200 OK');
      expect(JSON.parse((await page.locator('#try-body').textContent())!)).toMatchObject({
        requestMethod: 'GET',
        routeParameters: { id: 'a b' },
        query: { x: ['1'] },
        tokenName: 'ui-usage-token',
      });
      await expectText(page.locator('#try-headers'), 'content-type: application/json', { contains: true });
      expect(await page.locator('#try-explain').textContent()).toBe('');
      // A body, with its content type.
      await page.selectOption('#try-form [name=method]', 'POST');
      await page.fill('#try-form [name=body]', '{"a": 1}');
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-body'), '"rawBody": "{\\"a\\": 1}"', { contains: true });
      await expectText(page.locator('#try-status'), '200 OK');

      // A wrong secret: the endpoint's refusal as it came, and why, from POST /explain.
      await page.fill('#try-form [name=secret]', 'not-the-secret-of-any-token');
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-status'), '401 Unauthorized');
      await expectText(page.locator('#try-body'), '"errorCode": 1010', { contains: true });
      await expectText(page.locator('#try-verdict'), 'unknownSecret');
      expect(await page.locator('#try-explanation').textContent()).not.toBe('');
      await screenshot(page, 'try-it');
      // The secret was only in the field: not in storage, not in the page's markup, not in the logs.
      const stored = await page.evaluate(() =>
        JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]),
      );
      expect(stored).not.toContain(token.secret);
      expect(await page.content()).not.toContain(token.secret);
      await page.click('#try-form button[data-close]');
      await page.locator('#try-dialog').waitFor({ state: 'hidden' });
      // The dialog's close event clears the panel, a moment after the dialog hides.
      await page.waitForFunction(() => {
        const field = document.querySelector('#try-form [name=secret]') as { value: string };
        return field.value === '';
      });
      expect(await page.locator('#try-body').textContent()).toBe('');
      expect(app!.output()).not.toContain(token.secret);

      // One more call from outside: 4 calls of the API (3 ok, the refusal), 3 of the token (a wrong secret is no one's).
      const ok = await request(app!.baseUrl)
        .get(`${BASE_PATH}/ui-usage/7`)
        .set('Authorization', `Bearer ${token.secret}`);
      expect(ok.status).toBe(200);
      await usageWritten({ definitionId }, 4);
      await usageWritten({ tokenId: token.id }, 3);

      await apiRow.getByRole('button', { name: 'Usage of API ui-usage/{id}' }).click();
      const dialog = page.locator('#usage-dialog');
      await expectText(dialog.locator('#usage-title'), 'Usage of API ui-usage/{id}');
      await expectText(
        dialog.locator('.usage-summary'),
        'Last hour, per minute: 4 calls: 3 ok, 1 client error, 0 server errors;',
        { contains: true },
      );
      expect(await callsInBars(dialog)).toBe(4);
      // The same buckets in the table that screen readers read.
      expect(await dialog.locator('table.visually-hidden tbody tr').count()).toBe(
        await dialog.locator('svg g.bucket').count(),
      );
      await expectText(dialog.locator('[data-reason="unknown_secret"]'), 'unknown_secret: 1');
      await screenshot(page, 'usage-dialog');
      await expectText(dialog.locator('.usage-totals'), 'Errors1 (1 4xx, 0 5xx)', { contains: true });
      await dialog.locator('[data-period=week]').click();
      await expectText(dialog.locator('.usage-summary'), 'Last week, per hour: 4 calls', { contains: true });
      expect(await callsInBars(dialog)).toBe(4);
      expect(await dialog.locator('[data-period=week]').getAttribute('aria-pressed')).toBe('true');
      await page.click('#usage-dialog button[data-close]');
      await dialog.waitFor({ state: 'hidden' });

      await page.click('#tab-tokens');
      await row(page, 'tokens', 'ui-usage-token')
        .getByRole('button', { name: 'Usage of token ui-usage-token' })
        .click();
      await expectText(dialog.locator('.usage-summary'), 'Last hour, per minute: 3 calls: 3 ok, 0 client errors', {
        contains: true,
      });
      await page.click('#usage-dialog button[data-close]');
      await dialog.waitFor({ state: 'hidden' });

      // The overview: the API and the token among the busiest, the API among the most refused; labels are text.
      await page.click('#tab-usage');
      const busiestApi = page.locator(`#busiest-apis tr[data-id="${definitionId}"]`);
      await expectText(busiestApi.locator('td').first(), 'ui-usage/{id}');
      await expectText(busiestApi.locator('[data-column=Calls]'), '4');
      await expectText(page.locator(`#busiest-tokens tr[data-id="${token.id}"] [data-column=Calls]`), '3');
      await expectText(page.locator(`#refused-apis tr[data-id="${definitionId}"] [data-column=Refusals]`), '1');
      await expectText(
        page.locator('#refused-tokens tr[data-id=""] td').first(),
        'No token (unknown or missing secret)',
      );
      expect(await callsInBars(page.locator('#usage-panel'))).toBeGreaterThanOrEqual(4);
      await screenshot(page, 'usage');
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${definitionId}`).auth('admin', 'admin');
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  }, 120_000);

  it('lists who changed what in the Activity tab, filtered by object, user and time', async () => {
    const { context, page } = await openUi('admin');
    let tokenId: string | undefined;
    try {
      await page.click('#tab-tokens');
      await page.click('#token-create');
      await page.fill('#token-form [name=name]', 'ui-activity');
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#secret-dialog[open]');
      await page.click('#secret-dialog button[value=done]');
      const tokenRow = row(page, 'tokens', 'ui-activity');
      tokenId = (await tokenRow.getAttribute('data-id'))!;
      await tokenRow.getByRole('button', { name: 'Edit token ui-activity' }).click();
      await page.fill('#token-form [name=scopes]', 'activity:read');
      await page.click('#token-form button[type=submit]');
      await expectText(tokenRow.locator('[data-column="Scopes"]'), 'activity:read');

      await page.click('#tab-activity');
      const rows = page.locator('#activity-panel tbody tr');
      const changes = () => page.locator('#activity-panel tbody [data-column=Change]').allTextContents();
      // Newest first: this test's own changes lead the list.
      await expectText(rows.first().locator('[data-column=Object]'), `Token ui-activity${tokenId}`);
      await expectText(rows.first().locator('[data-column=User]'), 'admin');
      await page.fill('#activity-object', tokenId);
      await expectCount(rows, 2);
      expect(await changes()).toEqual(['updated', 'created']);
      await page.selectOption('#activity-action', 'created');
      await expectCount(rows, 1);
      await page.selectOption('#activity-action', '');
      await expectCount(rows, 2);
      // By user: the viewer changed nothing.
      await page.fill('#activity-user', 'viewer');
      await expectText(page.locator('#activity-panel td.empty'), 'No events match these filters.');
      await page.fill('#activity-user', 'admin');
      await expectCount(rows, 2);
      // By time (UTC) and by type.
      await page.fill('#activity-from', '2099-01-01T00:00');
      await expectText(page.locator('#activity-panel td.empty'), 'No events match these filters.');
      await page.fill('#activity-from', '');
      await expectCount(rows, 2);
      await page.selectOption('#activity-type', 'ApiDefinition');
      await expectText(page.locator('#activity-panel td.empty'), 'No events match these filters.');
      await page.selectOption('#activity-type', 'ApiToken');
      await expectCount(rows, 2);
      await page.fill('#activity-object', '');
      await expectText(rows.first().locator('[data-column=Object]'), `Token ui-activity${tokenId}`);
      await screenshot(page, 'activity');
    } finally {
      await context.close();
      if (tokenId) await request(app!.baseUrl).delete(`/admin/udapi/tokens/${tokenId}`).auth('admin', 'admin');
    }
  });

  it('shows the viewer usage and activity, and tries an API without the explanation the viewer may not ask for', async () => {
    const token = await createTokenThroughApi('ui-viewer-usage');
    const define = await request(app!.baseUrl)
      .post('/admin/udapi/definitions')
      .auth('admin', 'admin')
      .send({
        route: 'ui-viewer-usage',
        actionMeta: { name: 'debug.echo' },
        securitySettings: { allowedTokens: [token.id] },
      });
    expect(define.status).toBe(201);
    const { context, page } = await openUi('viewer');
    try {
      const apiRow = row(page, 'apis', 'ui-viewer-usage');
      await apiRow.getByRole('button', { name: 'Usage of API ui-viewer-usage' }).click();
      await expectText(page.locator('#usage-dialog .usage-summary'), 'Last hour', { contains: true });
      await page.click('#usage-dialog button[data-close]');
      await page.locator('#usage-dialog').waitFor({ state: 'hidden' });

      const explains: string[] = [];
      page.on('request', (sent) => {
        if (sent.url().endsWith('/explain')) explains.push(sent.method());
      });
      await apiRow.getByRole('button', { name: 'Try API ui-viewer-usage' }).click();
      await page.fill('#try-form [name=secret]', token.secret);
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-status'), '200 OK');
      await page.fill('#try-form [name=secret]', 'wrong');
      await page.click('#try-form button[type=submit]');
      await expectText(page.locator('#try-status'), '401 Unauthorized');
      await expectText(
        page.locator('#try-explain'),
        'Explaining a refusal needs the UserDefinableApiTokenCreateUpdate permission.',
      );
      expect(explains).toEqual([]);
      await page.click('#try-form button[data-close]');

      await page.click('#tab-usage');
      await page.locator('#busiest-apis tbody tr').first().waitFor();
      expect(await page.locator('#usage-panel .bad').count()).toBe(0);
      await page.click('#tab-activity');
      await expectText(
        page.locator('#activity-panel tbody tr').first().locator('[data-column=Object]'),
        'API ui-viewer-usage',
        {
          contains: true,
        },
      );
      expect(await page.locator('#activity-panel tbody button').count()).toBe(0);
    } finally {
      await context.close();
      await request(app!.baseUrl).delete(`/admin/udapi/definitions/${define.body.id}`).auth('admin', 'admin');
      await request(app!.baseUrl).delete(`/admin/udapi/tokens/${token.id}`).auth('admin', 'admin');
    }
  });

  it('checks routes in the browser exactly as the server does (2,000 generated routes)', async () => {
    const { context, page } = await openUi('admin');
    try {
      const alphabet = ['a', 'B', '{', '}', '/', ':', '*', '?', '=', '<', ' ', '.', '-', '\u0001', 'é'];
      const routes = fc.sample(
        fc.oneof(
          fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }).map((chars) => chars.join('')),
          fc
            .array(fc.constantFrom('x', '{p}', '{q}', '{}', '..', 'a{b}', '{ }'), { minLength: 1, maxLength: 5 })
            .map((segments) => segments.join('/')),
          fc.integer({ min: 240, max: 270 }).map((length) => 'r'.repeat(length)),
        ),
        { numRuns: 2000, seed: propertySeed('routes in the browser', 20261123) },
      );
      const inBrowser = await page.evaluate(
        async ([list, basePath]) => {
          const modulePath: string = './route-rules.js'; // relative to the page; a literal would make tsc look for it here
          const rules = (await import(modulePath)) as {
            routeProblem(route: string, basePath: string, max: number): string | null;
          };
          return list.map((route) => rules.routeProblem(route, basePath, 260));
        },
        [routes, BASE_PATH] as const,
      );
      const onServer = routes.map((route) => {
        const parsed = parseRoute(route, BASE_PATH);
        return 'problem' in parsed ? parsed.problem : null;
      });
      expect(inBrowser).toEqual(onServer);
      expect(onServer.filter((problem) => problem === null).length).toBeGreaterThan(100);
    } finally {
      await context.close();
    }
  });

  it('checks names and descriptions in the browser exactly as the server does (2,000 generated texts)', async () => {
    const { context, page } = await openUi('admin');
    try {
      // Each class the rules tell apart, its neighbours on both sides, and what trim() and the length limit see.
      const alphabet = [
        'a',
        ' ',
        'é',
        '😀',
        '\u00a0',
        '\t',
        '\n',
        '\r',
        '\u0000',
        '\u0008',
        '\u000b',
        '\u001b',
        '\u001f',
        '\u007e',
        '\u007f',
        '\u0085',
        '\u009f',
        '\u00a0',
        '\u200d',
        '\u200e',
        '\u200f',
        '\u061c',
        '\u2027',
        '\u2028',
        '\u2029',
        '\u202a',
        '\u202e',
        '\u202f',
        '\u2065',
        '\u2066',
        '\u2069',
        '\u206a',
        '\ud800',
      ];
      const texts = fc.sample(
        fc.oneof(
          fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((chars) => chars.join('')),
          fc
            .tuple(fc.integer({ min: 195, max: 205 }), fc.constantFrom('', '\n', '\u202e'))
            .map(([length, tail]) => `${'n'.repeat(length)}${tail}`),
        ),
        { numRuns: 2000, seed: propertySeed('names in the browser', 20260517) },
      );
      const inBrowser = await page.evaluate(async (list) => {
        const modulePath: string = './text-rules.js'; // relative to the page; a literal would make tsc look for it here
        type Rule = (text: string) => string | null;
        const rules = (await import(modulePath)) as {
          nameProblem: Rule;
          optionalNameProblem: Rule;
          descriptionProblem: Rule;
        };
        return list.map((text) => [
          rules.nameProblem(text),
          rules.optionalNameProblem(text),
          rules.descriptionProblem(text),
        ]);
      }, texts);
      const onServer = texts.map((text) => [nameProblem(text), optionalNameProblem(text), descriptionProblem(text)]);
      expect(inBrowser).toEqual(onServer);
      // The sample reaches every outcome: accepted, and refused by each rule.
      const verdicts = onServer.flat().map((problem) => problem?.replace(/found U\+.*|\d+/g, '') ?? 'null');
      expect(new Set(verdicts).size).toBeGreaterThanOrEqual(6);
    } finally {
      await context.close();
    }
  });
});
