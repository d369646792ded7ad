import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', 'coverage/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Workflow code is replayed: no I/O, clocks or randomness beyond the SDK's own.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'http', 'https', 'crypto', 'child_process'], message: 'Workflows must not do I/O.' },
          { group: ['**/activities', '**/activities/*', '**/adapters/*', '**/db/*', '**/api/*'], message: 'Workflows import activity types only (import type).', allowTypeImports: true },
          { group: ['knex', 'objection', 'pg', 'pino', '@temporalio/client', '@temporalio/worker'], message: 'Not in workflow code.' },
        ],
      }],
    },
  },
  {
    files: ['jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
);
