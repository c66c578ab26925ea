/**
 * The batch layer's business SQL: warehouse/sql/warehouse/<folder>/<name>.sql, plain files a
 * data engineer runs with psql, as the models are. Parameters are psql variables: `:'name'` a
 * literal (the warehouse's renderModel), `:"name"` an identifier, and `:name` a fragment of SQL
 * that the job writes itself (a column list, an ON CONFLICT clause), given apart in `fragments`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelParams, renderModel, sqlDir } from '@lambdamart/warehouse';

export const warehouseSqlDir = join(sqlDir, 'warehouse');

export interface WarehouseSqlParams {
  /** `:'name'`: quoted as literals. */
  literals?: ModelParams;
  /** `:"name"`: quoted as identifiers. */
  identifiers?: Readonly<Record<string, string>>;
  /** `:name`: inserted as they are; only the names given here are replaced. */
  fragments?: Readonly<Record<string, string>>;
}

/** The text of warehouse/sql/warehouse/<name>.sql with its parameters substituted. */
export async function loadWarehouseSql(name: string, params: WarehouseSqlParams = {}): Promise<string> {
  const sql = await readFile(join(warehouseSqlDir, `${name}.sql`), 'utf8');
  const identifiers = params.identifiers ?? {};
  const fragments = params.fragments ?? {};
  const withNames = sql
    .replace(/:"([A-Za-z_][A-Za-z0-9_]*)"/g, (match, key: string) =>
      identifiers[key] === undefined ? match : `"${identifiers[key].replaceAll('"', '""')}"`,
    )
    // Not after a colon: `::type` is a cast.
    .replace(/(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)/g, (match, key: string) => fragments[key] ?? match);
  return renderModel(withNames, params.literals ?? {});
}
