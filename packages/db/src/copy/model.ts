import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '../generated/sqlite/client';

/** A Prisma scalar type as the copy converts it (enums travel as their string value). */
export type FieldType =
  'String' | 'Int' | 'BigInt' | 'Float' | 'Decimal' | 'Boolean' | 'DateTime' | 'Json' | 'Bytes';

export interface CopyColumn {
  name: string;
  type: FieldType;
}

/** One model of the schema: its table and the columns that hold data (relations are not columns). */
export interface CopyModel {
  model: string;
  table: string;
  columns: CopyColumn[];
}

interface RuntimeField {
  name: string;
  kind: string;
  type: string;
  dbName?: string | null;
}

interface RuntimeDataModel {
  models: Record<string, { dbName: string | null; fields: RuntimeField[] }>;
}

const FIELD_TYPES = new Set<string>([
  'String',
  'Int',
  'BigInt',
  'Float',
  'Decimal',
  'Boolean',
  'DateTime',
  'Json',
  'Bytes',
]);

/**
 * Every model of the generated client with its table and scalar columns, in schema order.
 *
 * Read from the data model the generated client carries (it is the DMMF reduced to what queries need: models,
 * scalar fields and their types, table names), so a model added to the schema is copied without touching the
 * copy tool. The client is only constructed, never connected. Primary and foreign keys are not in that model;
 * the copy reads them from the migrated target's catalog.
 */
export function copyModels(): CopyModel[] {
  const client = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: ':memory:' }) });
  const dataModel = (client as unknown as { _runtimeDataModel?: RuntimeDataModel })._runtimeDataModel;
  if (!dataModel) throw new Error('the generated Prisma client carries no data model (Prisma changed?)');
  return Object.entries(dataModel.models).map(([model, m]) => ({
    model,
    table: m.dbName ?? model,
    columns: m.fields
      .filter((f) => f.kind === 'scalar' || f.kind === 'enum')
      .map((f) => ({ name: f.dbName ?? f.name, type: fieldType(model, f) })),
  }));
}

function fieldType(model: string, f: RuntimeField): FieldType {
  if (f.kind === 'enum') return 'String';
  if (FIELD_TYPES.has(f.type)) return f.type as FieldType;
  throw new Error(`db:copy does not know how to copy ${model}.${f.name} of type ${f.type}`);
}
