// Types of the test database launcher, for the TypeScript tests that start a database of their own.
export interface TestDbHandle {
  uri: string;
  pid: number;
  stop(): Promise<void>;
}
export function startTestDb(options?: {
  port?: number;
  dataDir?: string;
  attached?: boolean;
  log?: (line: string) => void;
}): Promise<TestDbHandle>;
export function ensureBuilt(options?: { log?: (line: string) => void }): string;
