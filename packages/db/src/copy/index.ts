// db:copy: moving a Keyway database between SQLite, PostgreSQL and MySQL (standalone → distributed and back).
export { CopyRefusedError } from './checks';
export { copyDatabase, type CopiedTable, type CopyDatabaseOptions, type CopySummary } from './copy';
export { PROGRESS_TABLE } from './endpoint';
export { databaseIdentity, describeDatabase } from './identity';
export { copyModels, type CopyModel } from './model';
