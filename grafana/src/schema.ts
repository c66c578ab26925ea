/**
 * A JSON Schema of Grafana's dashboard model, derived from the foundation SDK's own Dashboard
 * type (its types.gen.d.ts) with ts-json-schema-generator; additional properties are allowed,
 * since panels' options are typed per plugin and the SDK's Dashboard has them as `any`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGenerator } from 'ts-json-schema-generator';

export function dashboardSchema(): object {
  const sdkDashboard = dirname(createRequire(import.meta.url).resolve('@grafana/grafana-foundation-sdk/dashboard'));
  return createGenerator({
    path: join(sdkDashboard, 'types.gen.d.ts'),
    type: 'Dashboard',
    additionalProperties: true,
    skipTypeCheck: true,
    expose: 'all',
  }).createSchema('Dashboard');
}
