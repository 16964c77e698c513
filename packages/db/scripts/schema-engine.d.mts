// Types for schema-engine.mjs, which the tests import.
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget, MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';

export declare function withSchemaEngine<T>(
  opts: {
    provider: 'sqlite' | 'postgresql';
    adapterFactory?: SqlMigrationAwareDriverAdapterFactory;
    datamodel?: string;
    log?: (msg: string) => void;
  },
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T>;
export declare const noFilters: SchemaFilter;
export declare function diffScript(engine: SchemaEngine, from: DiffTarget, to: DiffTarget): Promise<string>;
export declare function datamodelTarget(content: string): DiffTarget;
export declare function liveDatabaseTarget(content: string): DiffTarget;
export declare function offlinePostgresAdapterFactory(): SqlMigrationAwareDriverAdapterFactory;
export declare function migrationsList(dir: string): MigrationList;
