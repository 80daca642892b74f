// Connects to MONGODB_URI, or starts the embedded test database (FerretDB) with its data kept in example-app/.data.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';

const require = createRequire(import.meta.url);

export async function openDatabase({ dataDir, log }) {
  let uri = process.env.MONGODB_URI;
  let stop = async () => {};
  if (!uri) {
    const { startTestDb } = require('../scripts/testdb.cjs');
    mkdirSync(dataDir, { recursive: true });
    log.info({}, 'MONGODB_URI is not set: starting the embedded FerretDB (data in example-app/.data)');
    const db = await startTestDb({
      port: Number(process.env.TESTDB_PORT ?? 0),
      dataDir: path.join(dataDir, 'db'),
      log: (line) => log.info({}, line),
    });
    uri = db.uri;
    stop = db.stop;
  }
  const connection = mongoose.createConnection(uri, {
    dbName: process.env.MONGODB_DB ?? 'udapi_example',
    serverSelectionTimeoutMS: 5000,
  });
  await connection.asPromise();
  return {
    connection,
    close: async () => {
      await connection.close();
      await stop();
    },
  };
}
