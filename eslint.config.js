// @ts-check
import js from '@eslint/js';
import vue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';
import vueParser from 'vue-eslint-parser';

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map(
    (g) => [g, 'readonly'],
  ),
);

/** The console (a browser SPA): TypeScript and single-file components; config files and scripts are Node. */
const consoleFiles = ['apps/console/**/*.{ts,vue}'];
const consoleNodeFiles = ['apps/console/*.config.ts', 'apps/console/scripts/**'];

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
  // Console: Vue rules (formatting left to prettier), typed linting of <script setup lang="ts"> through
  // vue-eslint-parser with the TypeScript parser inside, and the browser-side import boundary.
  ...vue.configs['flat/recommended'].map((config) => ({
    ...config,
    files: consoleFiles,
    ignores: consoleNodeFiles,
  })),
  { files: consoleFiles, rules: vue.configs['no-layout-rules'].rules },
  {
    files: consoleFiles,
    ignores: consoleNodeFiles,
    languageOptions: {
      parser: vueParser,
      parserOptions: {
        parser: tseslint.parser,
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.vue'],
        sourceType: 'module',
      },
    },
    rules: {
      // TypeScript already resolves every identifier (vue-tsc for templates).
      'no-undef': 'off',
      // Page components are named by their folder (`views/groups/index.vue`).
      'vue/multi-word-component-names': 'off',
      'vue/require-default-prop': 'off',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@keyway/*', '!@keyway/contracts'],
              message: 'The console imports only @keyway/contracts (browser-safe schemas and types).',
            },
            { group: ['node:*', '@prisma/*'], message: 'The console runs in the browser.' },
          ],
          paths: ['fs', 'path', 'http', 'crypto', 'undici', 'ioredis', 'pino'].map((name) => ({
            name,
            message: 'The console runs in the browser.',
          })),
        },
      ],
    },
  },
  {
    // Ambient module declarations (`declare module '*.vue'`) need their default export.
    files: ['apps/console/src/**/*.d.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
