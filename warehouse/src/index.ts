/** The SQL files' runners: migrations of both databases and the transformation models. */
export { type MigratedDatabase, type MigrationStatus, migrateDown, migrateUp, migrationStatus, migrationsDir, sqlDir } from './migrate.ts';
export { listModels, loadModel, type ModelParams, modelsDir, readModel, renderModel } from './models.ts';
