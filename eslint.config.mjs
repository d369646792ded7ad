import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Import directions (issue 11): dependencies point downward only. A file in one of these
// top-level folders reaches another one through `../` (there are no path aliases), so a
// restriction is a regex on that relative specifier. npm packages never start with `.`, so
// `@opentelemetry/api` or `@temporalio/workflow` are never caught by a folder name.
const LAYERS = ['api', 'workers', 'workflows', 'activities', 'adapters', 'db', 'lib', 'contracts', 'scripts', 'bench', 'test'];
const FOLDER_FILES = (folder) => [`${folder}/**/*.{ts,js,mjs,cjs}`];
const forbid = (folders, message, extra = {}) => ({
  regex: `^(?:\\./)?(?:\\.\\./)+(?:${folders.join('|')})(?:/|$)`,
  message,
  ...extra,
});
const NO_TEST = forbid(['test'], 'Nothing outside test/ imports test/: move what production code needs out of test/.');
const onlyFrom = (folder, allowed, why, shown = allowed.map((f) => `${f}/`)) => forbid(
  LAYERS.filter((other) => other !== folder && other !== 'test' && !allowed.includes(other)),
  `${folder}/ imports only ${[`${folder}/`, ...shown].join(', ')}: ${why}`,
);
// Flat config does not merge options of one rule across blocks (the last block wins), so
// every folder block repeats the test/ restriction and workflows/ carries its other limits too.
const directions = (folder, patterns) => ({
  files: FOLDER_FILES(folder),
  rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, NO_TEST] }] },
});

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
    files: ['**/*.{ts,js,mjs,cjs}'],
    ignores: ['test/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [NO_TEST] }],
      // no-restricted-imports sees only static imports; close the require()/import() door too.
      'no-restricted-syntax': ['error',
        { selector: 'ImportExpression[source.value=/^(\\.\\/)?(\\.\\.\\/)+test(\\/|$)/]', message: NO_TEST.message },
        { selector: "CallExpression[callee.name='require'][arguments.0.value=/^(\\.\\/)?(\\.\\.\\/)+test(\\/|$)/]", message: NO_TEST.message },
      ],
    },
  },
  directions('contracts', [onlyFrom('contracts', [], 'a contract is a leaf every layer imports, so it imports none of them.')]),
  directions('lib', [onlyFrom('lib', [], 'config, logging and errors sit below every other layer.')]),
  directions('adapters', [onlyFrom('adapters', ['lib', 'contracts'], 'a port knows nothing of the domain layers above it.')]),
  directions('db', [onlyFrom('db', ['lib', 'contracts'], 'repositories serve API and activities alike, so they depend on neither.')]),
  directions('activities', [onlyFrom('activities', ['adapters', 'db', 'lib', 'contracts'], 'activities are called by workflows, never the other way; shared names live in contracts/.')]),
  {
    // Workflow code is replayed: no I/O, clocks or randomness beyond the SDK's own.
    ...directions('workflows', [
      onlyFrom('workflows', ['contracts', 'activities'], 'workflow code is bundled and replayed; shared names live in contracts/.', ['contracts/', 'activities/ (import type only)']),
      forbid(['activities'], 'Workflows import activity types only (import type).', { allowTypeImports: true }),
      { group: ['node:*', 'fs', 'path', 'http', 'https', 'crypto', 'child_process'], message: 'Workflows must not do I/O.' },
      { group: ['knex', 'pg', 'pino', '@temporalio/client', '@temporalio/worker'], message: 'Not in workflow code.' },
    ]),
  },
  directions('api', [onlyFrom('api', ['workflows', 'contracts', 'db', 'adapters', 'lib'], 'the API hands work to workflows; activities run only inside the worker.')]),
  directions('workers', [forbid(['api'], 'workers/ must not import api/: the worker runs without the HTTP layer.')]),
  directions('scripts', []),
  directions('bench', []),
  {
    files: ['jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
);
