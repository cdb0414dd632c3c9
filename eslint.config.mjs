// Flat config. Type-aware rules (no-floating-promises) need the TS program, so every linted
// .ts file must belong to a tsconfig (packages, or tsconfig.tools.json for deploy/bench/test).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import jest from 'eslint-plugin-jest';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.engines/**',
      'coverage/**',
      'artifacts/**',
      'deploy/local/*/lib/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        project: ['./tsconfig.tools.json', './*/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      'no-console': 'off',
    },
  },
  {
    // The domain layer stays free of infrastructure (ports and adapters, ../shared/STYLE.md).
    files: ['*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['kafkajs', 'sharp', 'cassandra-driver', 'express', 'busboy', 'pino'].map(
            (name) => ({
              name,
              message:
                'domain/ imports no infrastructure: add a port in domain/ports.ts and an adapter.',
            }),
          ),
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'domain/ imports no AWS SDK.' },
          ],
        },
      ],
    },
  },
  {
    // Only platform talks to Kafka: services go through its bus.
    files: [
      'ingest/**/*.ts',
      'processor/**/*.ts',
      'aggregator/**/*.ts',
      'notifier/**/*.ts',
      'schemas/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'kafkajs', message: 'Only @imgpipe/platform imports kafkajs.' }] },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', 'assert*'] }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The CLI's launcher is plain CommonJS so `npx imgpipe` runs without a build.
    files: ['cli/bin/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The web page's scripts run in the browser as ES modules, served as they are (no build).
    files: ['ingest/web/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
);
