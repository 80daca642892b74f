// Jest global teardown: stops the database that global setup started, if any.
module.exports = async function globalTeardown() {
  const db = globalThis.__UDAPI_TESTDB__;
  if (db) await db.stop();
};
