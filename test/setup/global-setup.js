// Jest global setup: starts the embedded FerretDB unless MONGODB_URI points at a database already.
const { startTestDb } = require('../../scripts/testdb.cjs');

module.exports = async function globalSetup() {
  if (process.env.MONGODB_URI) return;
  const db = await startTestDb({ log: (line) => process.stderr.write(`${line}\n`) });
  globalThis.__UDAPI_TESTDB__ = db;
  // Workers are started after this and inherit the environment.
  process.env.MONGODB_URI = db.uri;
  process.env.UDAPI_TESTDB_OWNED = '1';
};
