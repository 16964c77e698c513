// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map(
    (g) => [g, 'readonly'],
  ),
);

const appBoundary = (self) => ({
  group: [
    '@keyway/gateway',
    '@keyway/control-plane',
    '@keyway/worker',
    '@keyway/standalone',
    '@keyway/console',
  ]
    .filter((name) => name !== self)
    .flatMap((name) => [name, `${name}/*`]),
  message: 'Apps never import other apps; only apps/standalone composes them.',
});

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/generated/**',
      'coverage/**',
      '**/data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only.' },
      ],
    },
  },
  {
    files: ['**/*.config.{js,ts,mjs}', '**/scripts/**', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: nodeGlobals },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-restricted-syntax': 'off' },
  },
  {
    files: ['packages/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [appBoundary('')] }],
    },
  },
  {
    files: ['apps/gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            appBoundary('@keyway/gateway'),
            {
              group: ['@keyway/db', '@prisma/*', 'prisma'],
              message: 'The gateway never touches the database.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/worker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [appBoundary('@keyway/worker')] }] },
  },
  {
    files: ['apps/control-plane/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [appBoundary('@keyway/control-plane')] }] },
  },
  {
    files: ['packages/contracts/**/*.ts', 'packages/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            appBoundary(''),
            {
              group: ['node:*', 'fs', 'http', 'net', '@prisma/*', 'undici', 'ioredis', 'pino'],
              message: 'contracts and core are browser-safe and free of I/O.',
            },
          ],
        },
      ],
    },
  },
);
