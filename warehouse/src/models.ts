/**
 * The transformation models of warehouse/sql/models: plain SQL files whose parameters are psql
 * variables (`:'name'`), so a data engineer runs them with `psql -v name=value -f model.sql`
 * and TypeScript runs the same text after `renderModel`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LambdamartError } from '@lambdamart/core';
import { sqlDir } from './migrate.ts';

export const modelsDir = join(sqlDir, 'models');

export type ModelParams = Readonly<Record<string, string | number | boolean>>;

/** The text of warehouse/sql/models/<name>.sql (name may include a folder: 'checks/x'). */
export async function readModel(name: string): Promise<string> {
  return readFile(join(modelsDir, `${name}.sql`), 'utf8');
}

/** The names of the models in a folder of warehouse/sql/models, sorted. */
export async function listModels(folder: string): Promise<string[]> {
  const files = await readdir(join(modelsDir, folder));
  return files
    .filter((f) => f.endsWith('.sql'))
    .map((f) => `${folder}/${f.slice(0, -'.sql'.length)}`)
    .sort();
}

/** Substitutes psql's `:'name'` with a quoted literal; a parameter the SQL names but `params` lacks is an error. */
export function renderModel(sql: string, params: ModelParams = {}): string {
  return sql.replace(/:'([A-Za-z_][A-Za-z0-9_]*)'/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new LambdamartError('LM_ERR_SQL_MODEL_PARAMETER', `SQL model parameter :'${name}' has no value`);
    return `'${String(value).replaceAll("'", "''")}'`;
  });
}

/** readModel + renderModel, with the trailing semicolon removed so the text can be nested. */
export async function loadModel(name: string, params: ModelParams = {}): Promise<string> {
  return renderModel(await readModel(name), params)
    .trim()
    .replace(/;\s*$/, '');
}
