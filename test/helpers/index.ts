export * from './kafka.ts';
export * from './postgres.ts';
