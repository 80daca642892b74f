// Jest configuration: TypeScript through ts-jest, one FerretDB (or MONGODB_URI) for the whole run.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/setup/global-setup.js',
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  testSequencer: '<rootDir>/test/setup/sequencer.js',
  setupFilesAfterEnv: ['<rootDir>/test/setup/no-cors.ts', '<rootDir>/test/setup/leak-scan.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};
