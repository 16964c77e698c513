// Types for schema-derive.mjs, which the tests import.
export declare const PROVIDERS: readonly ['sqlite', 'postgresql', 'mysql'];
export declare const repoRoot: string;
export declare const sourceSchemaPath: string;
export declare function derivedSchemaPath(provider: string): string;
export declare function migrationsDirPath(provider: string): string;
export declare function deriveSchema(source: string, provider: string): string;
export declare function deriveAll(): Record<string, string>;
