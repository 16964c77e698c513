import { defineConfig } from 'tsup';
import { appBundle } from '../../tsup.app';

export default defineConfig(
  appBundle({
    main: 'src/main.ts',
    'rotate-encryption': 'src/commands/rotate-encryption.ts',
    'import-gpt-load': 'src/commands/import-gpt-load.ts',
    'db-copy': 'src/commands/db-copy.ts',
    // The SQLite writer's worker thread (createSqliteWriter starts dist/sqlite-writer-thread.js beside main.js).
    'sqlite-writer-thread': '../../packages/db/src/sqlite-writer-thread.ts',
  }),
);
