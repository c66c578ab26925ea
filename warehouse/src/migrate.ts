/**
 * Runs the SQL migrations in warehouse/sql/<database>/migrations with knex. Each migration is a
 * pair of plain SQL files, NNNN_name.up.sql and NNNN_name.down.sql, that a data engineer can also
 * run with psql. knex keeps the bookkeeping (knex_migrations) and runs each in a transaction.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LambdamartError } from '@lambdamart/core';
import knexFactory, { type Knex } from 'knex';

export type MigratedDatabase = 'realtime' | 'warehouse';

export const sqlDir = resolve(import.meta.dirname, '..', 'sql');

export function migrationsDir(database: MigratedDatabase): string {
  return join(sqlDir, database, 'migrations');
}

/** knex's MigrationSource over the .up.sql/.down.sql pairs of one folder. */
export class SqlMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<string[]> {
    const files = await readdir(this.dir);
    const names = files.filter((f) => f.endsWith('.up.sql')).map((f) => f.slice(0, -'.up.sql'.length));
    for (const name of names) {
      if (!files.includes(`${name}.down.sql`))
        throw new LambdamartError('LM_ERR_MIGRATION_FILE_MISSING', `migration ${name} has no ${name}.down.sql in ${this.dir}`);
    }
    return names.sort();
  }

  getMigrationName(name: string): string {
    return name;
  }

  async getMigration(name: string): Promise<Knex.Migration> {
    const [up, down] = await Promise.all([
      readFile(join(this.dir, `${name}.up.sql`), 'utf8'),
      readFile(join(this.dir, `${name}.down.sql`), 'utf8'),
    ]);
    // No bindings: knex sends the file as one simple query, `$$` bodies and all.
    return { up: (knex) => knex.raw(up), down: (knex) => knex.raw(down) };
  }
}

const silent = { warn() {}, error() {}, debug() {}, deprecate() {} };

function connect(connectionString: string): Knex {
  // knex's own logger prints stack traces to the console; callers report failures themselves.
  return knexFactory({ client: 'pg', connection: connectionString, pool: { min: 0, max: 1 }, log: silent });
}

function migratorConfig(database: MigratedDatabase): Knex.MigratorConfig {
  return { migrationSource: new SqlMigrationSource(migrationsDir(database)), tableName: 'knex_migrations' };
}

/** Applies every pending migration; returns the names applied (empty when up to date). */
export async function migrateUp(database: MigratedDatabase, connectionString: string): Promise<string[]> {
  const knex = connect(connectionString);
  try {
    const [, applied] = (await knex.migrate.latest(migratorConfig(database))) as [number, string[]];
    return applied;
  } finally {
    await knex.destroy();
  }
}

/** Rolls back every applied migration, newest first; returns the names rolled back. */
export async function migrateDown(database: MigratedDatabase, connectionString: string): Promise<string[]> {
  const knex = connect(connectionString);
  try {
    const [, rolledBack] = (await knex.migrate.rollback(migratorConfig(database), true)) as [number, string[]];
    return rolledBack;
  } finally {
    await knex.destroy();
  }
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

export async function migrationStatus(database: MigratedDatabase, connectionString: string): Promise<MigrationStatus> {
  const knex = connect(connectionString);
  try {
    const [applied, pending] = (await knex.migrate.list(migratorConfig(database))) as [{ name: string }[], string[]];
    return { applied: applied.map((m) => m.name), pending };
  } finally {
    await knex.destroy();
  }
}
