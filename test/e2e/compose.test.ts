/**
 * docker-compose.yml cannot run on the build machines (no Docker engine), so this checks that it
 * agrees with core/: env names are ones the config reads, URLs name the compose services and the
 * databases of core, ports line up, and every service that needs another waits for its health.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runCliSync } from '@lambdamart/cli-launch';
import { configVariables, Databases, loadConfig } from '@lambdamart/core';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const root = resolve(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

/** Compose's `${NAME}`, `${NAME:-default}` and `${NAME-default}` as `docker compose up` expands them in `env`. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (match, name?: string, operator?: string, fallback?: string) => {
      if (match === '$$') return '$';
      const set = name ? env[name] : undefined;
      if (operator === ':-') return set ? set : (fallback ?? '');
      if (operator === '-') return set ?? fallback ?? '';
      return set ?? '';
    },
  );
}
/** An app service's environment as its container sees it, on a host that sets `host` only. */
const containerEnv = (service: Service, host: Record<string, string | undefined> = {}) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), host)]));

describe('docker-compose.yml', () => {
  it('has Kafka 3.9 in KRaft mode, two Postgres and Grafana with provisioning mounted', () => {
    assert.match(services.kafka?.image ?? '', /^apache\/kafka:3\.9\./);
    assert.equal(services.kafka?.environment?.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(services['realtime-db']?.environment?.POSTGRES_DB, Databases.realtime);
    assert.equal(services['warehouse-db']?.environment?.POSTGRES_DB, Databases.warehouse);
    assert.ok(services.grafana?.volumes?.some((v) => v.startsWith('./grafana/provisioning:/etc/grafana/provisioning')));
  });

  it('mounts Grafana provisioning and the generated dashboards where the provider reads them', () => {
    const grafana = services.grafana;
    const mounts = new Map((grafana?.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]));
    assert.equal(mounts.get('/etc/grafana/provisioning'), './grafana/provisioning');
    const providers = parse(readFileSync(resolve(root, 'grafana/provisioning/dashboards/lambdamart.yaml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    for (const provider of providers.providers) {
      assert.equal(mounts.get(provider.options.path), './grafana/dashboards', `${provider.options.path} is the generated dashboards`);
    }
    const home = String(grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    const [mountPoint, source] = [...mounts].find(([target]) => home.startsWith(`${target}/`)) ?? [];
    assert.ok(mountPoint && source, `the home dashboard ${home} is in a mounted folder`);
    assert.ok(existsSync(resolve(root, source, home.slice(mountPoint.length + 1))), `${home} is a generated dashboard`);
  });

  it("gives Grafana every variable its datasources read, naming the databases' services and credentials", () => {
    const env = services.grafana?.environment ?? {};
    const yamlText = readFileSync(resolve(root, 'grafana/provisioning/datasources/lambdamart.yaml'), 'utf8');
    const referenced = [...yamlText.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1] ?? '');
    assert.ok(referenced.length >= 6);
    for (const name of referenced) assert.ok(env[name] !== undefined, `grafana sets ${name}`);
    const datasources = parse(yamlText) as { datasources: { url: string; user: string; secureJsonData: { password: string } }[] };
    for (const ds of datasources.datasources) {
      const value = (ref: string) => String(env[ref.replace(/^\$\{|\}$/g, '')]);
      const [host, port] = value(ds.url).split(':');
      const server = services[host ?? ''];
      assert.ok(server, `${ds.url} names the compose service ${host}`);
      assert.equal(port, '5432');
      assert.equal(value(ds.user), server.environment?.POSTGRES_USER);
      assert.equal(value(ds.secureJsonData.password), server.environment?.POSTGRES_PASSWORD);
      assert.equal(services.grafana?.depends_on?.[host ?? '']?.condition, 'service_healthy');
    }
  });

  it('gives every server a healthcheck', () => {
    for (const name of ['kafka', 'realtime-db', 'warehouse-db', 'grafana']) {
      assert.ok(services[name]?.healthcheck?.test.length, `${name} has a healthcheck`);
    }
  });

  it('passes app services only env names that core reads, with values core accepts', () => {
    assert.ok(appServices.length > 0);
    for (const [name, service] of appServices) {
      const env = containerEnv(service);
      for (const key of Object.keys(env)) {
        // NODE_OPTIONS is Node's own (the services' heap limits), not the platform's configuration.
        if (key === 'NODE_OPTIONS') continue;
        assert.ok((configVariables as string[]).includes(key), `${name}: ${key} is not a variable core/ reads`);
      }
      const config = loadConfig(env);
      const [brokerHost, brokerPort] = (config.kafka.brokers[0] ?? '').split(':');
      assert.ok(brokerHost && services[brokerHost], `${name}: KAFKA_BROKERS names the service ${brokerHost}`);
      const listeners = String(services[brokerHost]?.environment?.KAFKA_ADVERTISED_LISTENERS);
      assert.ok(listeners.includes(`//${brokerHost}:${brokerPort}`), `${name}: ${brokerHost}:${brokerPort} is an advertised listener`);
      for (const [url, db] of [
        [config.realtimeDatabaseUrl, Databases.realtime],
        [config.warehouseDatabaseUrl, Databases.warehouse],
      ] as const) {
        const parsed = new URL(url);
        const server = services[parsed.hostname];
        assert.ok(server, `${name}: ${parsed.hostname} is a compose service`);
        assert.equal(parsed.pathname, `/${db}`);
        assert.equal(server.environment?.POSTGRES_DB, db, `${parsed.hostname} creates ${db}`);
        assert.equal(server.environment?.POSTGRES_USER, decodeURIComponent(parsed.username));
        assert.equal(server.environment?.POSTGRES_PASSWORD, decodeURIComponent(parsed.password));
        assert.equal(parsed.port || '5432', '5432', 'containers talk to Postgres on its own port');
      }
    }
  });

  it('publishes the ports the local defaults use, so host tools work the same with or without Docker', () => {
    const defaults = loadConfig({});
    const published = (name: string) => (services[name]?.ports ?? []).map((p) => p.split(':')[0]);
    assert.ok(published('kafka').includes(defaults.kafka.brokers[0]?.split(':')[1] ?? ''));
    assert.ok(published('warehouse-db').includes(new URL(defaults.warehouseDatabaseUrl).port));
  });

  it('starts app services only after the servers they use are healthy', () => {
    for (const [name, service] of appServices) {
      for (const dependency of ['kafka', 'realtime-db', 'warehouse-db']) {
        assert.equal(service.depends_on?.[dependency]?.condition, 'service_healthy', `${name} waits for ${dependency}`);
      }
    }
  });

  it('runs the API (`lambdamart serve`) on API_PORT, published and health-checked, with API_KEYS from the host', () => {
    const api = services.api;
    assert.ok(api?.build !== undefined, 'an api service built from the app image');
    assert.deepEqual(api.command, ['serve']);
    const config = loadConfig(containerEnv(api));
    assert.equal(config.api.port, loadConfig({}).api.port, 'the API listens on the same port as without Docker');
    assert.ok(api.ports?.includes(`${config.api.port}:${config.api.port}`), `port ${config.api.port} is published as itself`);
    assert.ok(api.healthcheck?.test.join(' ').includes(`http://127.0.0.1:${config.api.port}/health`), 'the healthcheck asks the API');
    assert.equal(api.depends_on?.setup?.condition, 'service_completed_successfully', 'the API starts once the databases are migrated');
    // Keys are secrets: they come from the host's environment, never from this file.
    assert.match(String(api.environment?.API_KEYS), /^\$\{API_KEYS(:?-)?\}$/);
    assert.deepEqual(config.api.keys, [], 'without API_KEYS on the host, no key');
    const keyed = loadConfig(containerEnv(api, { API_KEYS: 'compose-admin-key-0001:admin' }));
    assert.deepEqual(keyed.api.keys, [{ key: 'compose-admin-key-0001', role: 'admin' }], "the host's API_KEYS reach the API");
  });

  it('runs only commands the CLI has', () => {
    for (const [name, service] of appServices) {
      const command = service.command ?? [];
      assert.ok(command.length, `${name} has a command`);
      const help = runCliSync([...command, '--help']);
      assert.equal(help.status, 0, `${name}: lambdamart ${command.join(' ')} exists (${help.stderr.trim()})`);
      // An unknown command's --help prints the top-level help, also with exit 0: the usage line tells them apart.
      const firstFlag = command.findIndex((word) => word.startsWith('-'));
      const subcommand = firstFlag === -1 ? command : command.slice(0, firstFlag);
      assert.match(
        help.stdout,
        new RegExp(`^Usage: lambdamart ${subcommand.join(' ')} `, 'm'),
        `${name}: lambdamart ${subcommand.join(' ')} is a command`,
      );
    }
  });
});
