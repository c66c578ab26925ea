export * from './database.ts';
export * from './factories.ts';
export * from './kafka.ts';
