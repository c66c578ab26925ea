/** What the build, the CLI and the tests use of the dashboards as code. */
export { dashboardDefinitions, salesOverviewUid, salesQueries } from './dashboards/index.ts';
export { type DatasourceName, Datasources } from './datasources.ts';
export { dashboardJson, dashboardsDir, generateDashboards } from './generate.ts';
export { expandMacros, expandPanelSql, interpolateVariables, type TimeRange, type VariableState, type Variables } from './macros.ts';
export { allPanels, checkDashboardRules, type DashboardJson, type PanelJson } from './rules.ts';
