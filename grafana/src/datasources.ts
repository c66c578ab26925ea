/**
 * The two Postgres datasources, as provisioning/datasources/lambdamart.yaml declares them. The
 * dashboards refer to them by these fixed uids, so a provisioned Grafana needs no clicks.
 */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

export const postgresDatasourceType = 'grafana-postgresql-datasource';

export const Datasources = {
  /** The star-schema warehouse the batch layer builds (batch view). */
  warehouse: { type: postgresDatasourceType, uid: 'lambdamart-warehouse' },
  /** The realtime database the speed layer writes (speed view). */
  realtime: { type: postgresDatasourceType, uid: 'lambdamart-realtime' },
} as const satisfies Record<string, DataSourceRef>;

export type DatasourceName = keyof typeof Datasources;
