// Gives each test file its own database on MONGODB_URI (a per-worker name) and drops it afterwards.
import { randomBytes } from 'node:crypto';
import mongoose, { type ConnectOptions, type Connection } from 'mongoose';

export interface TestDb {
  connection: Connection;
  name: string;
  drop(): Promise<void>;
}

export async function openTestDb(options: ConnectOptions = {}): Promise<TestDb> {
  const uri = process.env.MONGODB_URI;
  if (!uri)
    throw new Error('MONGODB_URI is not set: run the tests through jest (its global setup starts the test database)');
  // FerretDB allows [A-Za-z0-9_-]{1,63}; the worker id keeps workers apart, the random part keeps files apart.
  const name = `udapi_w${process.env.JEST_WORKER_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const connection = mongoose.createConnection(uri, { dbName: name, serverSelectionTimeoutMS: 5000, ...options });
  await connection.asPromise();
  return {
    connection,
    name,
    drop: async () => {
      await connection.dropDatabase();
      await connection.close();
    },
  };
}
