// The example host app: its own Express app with HTTP Basic admin users, the admin API and the user-defined APIs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createUserDefinedApis } from 'express-user-defined-apis';
import { registerExampleActions } from './actions.mjs';
import { basicAuth } from './basic-auth.mjs';
import { openDatabase } from './database.mjs';
import { jsonLogger } from './logger.mjs';
import { loadPepper } from './pepper.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = process.env.EXAMPLE_DATA_DIR ?? path.join(here, '.data');
const usersFile = process.env.UDAPI_USERS_FILE ?? path.join(here, 'users.json');
const log = jsonLogger(process.env.LOG_LEVEL ?? 'info', { app: 'example' });

const database = await openDatabase({ dataDir, log });
// Prometheus metrics when prom-client is installed (an optional peer dependency): the package never loads it itself.
const promClient = await import('prom-client').then(
  (module) => module.default,
  () => null,
);
// HTTP Basic sign-in, with failed sign-ins throttled per client address (10 a minute; see basic-auth.mjs).
const signIn = basicAuth(JSON.parse(readFileSync(usersFile, 'utf8')), { realm: 'User-defined APIs admin', log });
const udapi = createUserDefinedApis({
  connection: database.connection,
  pepper: loadPepper({ dataDir, log }),
  authenticateAdmin: signIn.authenticateAdmin,
  logger: log,
  // How often last-use times are written; the default (60 s) suits production, tests shorten it.
  lastUsedIntervalMs: process.env.UDAPI_LAST_USED_INTERVAL_MS
    ? Number(process.env.UDAPI_LAST_USED_INTERVAL_MS)
    : undefined,
  metrics: promClient ? { promClient } : undefined,
});
registerExampleActions(udapi);

const app = express();
app.disable('x-powered-by');
app.get('/', (_req, res) => {
  res
    .type('text')
    .send(
      [
        'Example host of express-user-defined-apis.',
        'Admin API: /admin/udapi (HTTP Basic, admin/admin or viewer/viewer); web UI: /admin/udapi/ui/; OpenAPI: /admin/udapi/openapi.json and /admin/udapi/openapi/apis.json.',
        'APIs: /api/custom/<route> (Bearer secret); the host route /reports/summary (Bearer secret of a token with the scope reports:read).',
        promClient ? 'Metrics: /metrics (admin users).' : 'Metrics: install prom-client to get /metrics.',
        '',
      ].join('\n'),
    );
});
// Metrics name definitions and count calls: for operators, so behind the admin sign-in here.
const adminOnly = (req, res, next) => {
  if (signIn.authenticateAdmin(req)) next();
  else res.status(401).type('text').send('Sign in as an administrator.\n');
};
if (promClient) app.get('/metrics', signIn.middleware, adminOnly, udapi.metricsHandler());
// The endpoint comes before any body parser, so handlers get the body exactly as sent.
app.use('/api/custom', udapi.endpoint());
// One of the host's own routes, protected by the same tokens: a token with the scope `reports:read` may read it.
app.get('/reports/summary', udapi.requireToken({ scopes: ['reports:read'] }), (req, res) => {
  res.json({ for: req.udapi.token.name, encoders: 3, running: 2 });
});
app.use('/admin/udapi', signIn.middleware, udapi.adminRouter());

await udapi.ready();
// This machine only, by default: the demo users' passwords are public. HOST=0.0.0.0 (or an address) to serve others,
// with users.json (UDAPI_USERS_FILE) holding real passwords first.
const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  log.info({ address, port }, `Example app listening on ${url}`);
});

const shutdown = async () => {
  server.close();
  await udapi.close();
  await database.close();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
