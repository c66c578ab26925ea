export * from './analytics.ts';
export * from './job.ts';
export { DataQualityError } from './jobs/quality.ts';
export * from './lake.ts';
export * from './purge.ts';
export * from './runner.ts';
export * from './scd2.ts';
export * from './scheduler.ts';
export * from './window.ts';
