import { collectDefaultMetrics, Registry } from 'prom-client';

/** A Prometheus registry per service, with the Node.js process metrics and a `service` label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'lambdamart_' });
  return registry;
}
