export * from './board.ts';
export { dashboardDefinitions, salesOverviewUid, salesQueries } from './dashboards/index.ts';
export * from './datasources.ts';
export * from './filters.ts';
export * from './generate.ts';
export * from './macros.ts';
export * from './query.ts';
export * from './rules.ts';
