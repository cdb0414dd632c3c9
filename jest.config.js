// Two projects: `unit` (beside the code, no engines) and `integration` (real Kafka, Cassandra
// and S3, started once per run by the global setup, or reused when the env points at them).
// @swc/jest transpiles TypeScript without type-checking; `npm run check` type-checks.
/** @type {import('jest').Config} */
const shared = {
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testEnvironment: 'node',
  // Resolve workspace packages to their TypeScript sources (the "development" export condition).
  testEnvironmentOptions: { customExportConditions: ['development', 'node', 'node-addons'] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.engines/'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Exit once the run and the global teardown are done, even if a test left a timer behind
  // (some engine client keeps the loop alive after all 57 suites pass; a CI run must never
  // hang on that). The teardown, which stops the engines, still runs first.
  forceExit: true,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/*/src/**/*.test.ts', '<rootDir>/deploy/**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/*/test/integration/**/*.int.test.ts',
        '<rootDir>/test/e2e/**/*.e2e.test.ts',
      ],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-setup.ts'],
    },
  ],
};
