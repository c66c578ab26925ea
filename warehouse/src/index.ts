export * from './migrate.ts';
export * from './models.ts';
