// Jest configuration: TypeScript through ts-jest, one FerretDB (or MONGODB_URI) for the whole run.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // src/ is a root too, so coverage also counts the source files no test loads (jest finds them in its file map).
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  testSequencer: '<rootDir>/test/setup/sequencer.js',
  setupFilesAfterEnv: [
    '<rootDir>/test/setup/no-cors.ts',
    '<rootDir>/test/setup/leak-scan.ts',
    '<rootDir>/test/setup/admin-conformance.ts',
  ],
  testTimeout: 30000,
  maxWorkers: 2,
  // Coverage, collected when jest runs with --coverage (npm test does; `npx jest <file>` does not). Only the
  // package's TypeScript run in jest's own processes counts: not the admin UI's browser scripts in src/ui, and not
  // src/cli, whose tests run the built command in child processes as users do (jest cannot see into them).
  // babel (istanbul), not v8: v8 was no faster here, and v8's figures through ts-jest count comment and type-only
  // lines as covered and leave out the branches of functions that never ran.
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.d.ts', '!src/cli/**'],
  coverageProvider: 'babel',
  coverageDirectory: 'coverage',
  coverageReporters: ['text-summary', 'lcov'],
  // The floor: the level measured when it was set, each figure rounded down to the whole percent that leaves at
  // least half a percent of margin (the property-based suites move the figures a little from run to run). Raise it
  // when coverage rises; never lower it (docs/testing.md, "Running the tests").
  coverageThreshold: {
    global: { statements: 95, branches: 90, functions: 96, lines: 96 },
  },
};
