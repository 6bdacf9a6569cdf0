// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'dist/**', 'web/dist/**', 'coverage/**', '.local-cloud/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use lib/random (node:crypto) for randomness.' },
      ],
    },
  },
  // The code that ships keeps its functions short: a longer one is cut into named steps
  // (issue 15). Blank lines and comments do not count; tests and scripts/ are exempt.
  {
    files: ['lib/**/*.ts', 'functions/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  // The web page runs in browsers.
  { files: ['web/src/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
);
