/**
 * The generated dashboards: valid against a JSON Schema of the SDK's Dashboard type, built the
 * same twice, committed up to date, and provisioned: the YAML declares every datasource uid they
 * use, with credentials from the environment.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { dashboardDefinitions } from './dashboards/index.ts';
import { Datasources, postgresDatasourceType } from './datasources.ts';
import { dashboardsDir, generateDashboards } from './generate.ts';
import { allPanels } from './rules.ts';
import { dashboardSchema } from './schema.ts';

const grafanaDir = resolve(import.meta.dirname, '..');
const readYaml = (path: string) => parse(readFileSync(join(grafanaDir, 'provisioning', path), 'utf8'));
const committed = (file: string) => JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8'));

describe('generated dashboards', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  let validate: ReturnType<Ajv['compile']>;
  before(() => {
    validate = ajv.compile(dashboardSchema());
  });

  it('are six, with unique uids and titles', () => {
    const dashboards = dashboardDefinitions.map((d) => d.build().dashboard);
    assert.equal(dashboards.length, 6);
    assert.equal(new Set(dashboards.map((d) => d.uid)).size, 6);
    assert.equal(new Set(dashboards.map((d) => d.title)).size, 6);
  });

  for (const { file } of dashboardDefinitions) {
    it(`${file} validates against the schema of the SDK's Dashboard type`, () => {
      const valid = validate(committed(file));
      assert.ok(valid, ajv.errorsText(validate.errors, { separator: '\n' }));
    });
  }

  it('the schema refuses what Grafana would: a panel without a width, a non-numeric schemaVersion', () => {
    const dashboard = committed('sales-overview.json');
    const broken = structuredClone(dashboard);
    delete broken.panels[0].gridPos.w;
    assert.equal(validate(broken), false);
    assert.match(ajv.errorsText(validate.errors), /must have required property 'w'/);
    assert.equal(validate({ ...dashboard, schemaVersion: 'forty-one' }), false);
  });

  it('are built the same twice (byte for byte), by the build script too', () => {
    assert.deepEqual(generateDashboards(), generateDashboards());
    const out = [mkdtempSync(join(tmpdir(), 'grafana-build-')), mkdtempSync(join(tmpdir(), 'grafana-build-'))];
    try {
      for (const dir of out) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', join(grafanaDir, 'src', 'build.ts'), '--out', dir], {
          encoding: 'utf8',
        });
        assert.equal(run.status, 0, run.stderr);
      }
      const files = readdirSync(out[0] ?? '').sort();
      assert.equal(files.length, 6);
      for (const f of files) assert.equal(readFileSync(join(out[0] ?? '', f), 'utf8'), readFileSync(join(out[1] ?? '', f), 'utf8'), f);
    } finally {
      for (const dir of out) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are committed up to date (else: npm run grafana:build)', () => {
    const files = readdirSync(dashboardsDir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const generated = generateDashboards();
    assert.deepEqual(files, generated.map((g) => g.file).sort(), 'grafana/dashboards holds exactly the generated files');
    for (const { file, json } of generated) {
      assert.equal(readFileSync(join(dashboardsDir, file), 'utf8'), json, `grafana/dashboards/${file} is stale: run npm run grafana:build`);
    }
  });

  it('build --check fails on a stale file and names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grafana-check-'));
    try {
      const build = (...args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', join(grafanaDir, 'src', 'build.ts'), '--out', dir, ...args], { encoding: 'utf8' });
      assert.equal(build().status, 0);
      assert.equal(build('--check').status, 0);
      writeFileSync(join(dir, 'trends.json'), '{}\n');
      const stale = build('--check');
      assert.equal(stale.status, 1);
      assert.match(stale.stderr, /stale \(trends\.json\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('provisioning', () => {
  const datasources = readYaml('datasources/lambdamart.yaml') as {
    apiVersion: number;
    datasources: {
      uid: string;
      type: string;
      url: string;
      user: string;
      secureJsonData: { password: string };
      jsonData: { database: string };
    }[];
  };
  const providers = readYaml('dashboards/lambdamart.yaml') as {
    apiVersion: number;
    providers: { type: string; folder: string; options: { path: string } }[];
  };

  it('declares the two Postgres datasources with the uids the dashboards use', () => {
    assert.equal(datasources.apiVersion, 1);
    const byUid = new Map(datasources.datasources.map((d) => [d.uid, d]));
    for (const ds of Object.values(Datasources)) {
      assert.equal(byUid.get(ds.uid)?.type, postgresDatasourceType, `${ds.uid} is provisioned as ${postgresDatasourceType}`);
    }
    assert.equal(byUid.get(Datasources.warehouse.uid)?.jsonData.database, 'lambdamart_warehouse');
    assert.equal(byUid.get(Datasources.realtime.uid)?.jsonData.database, 'lambdamart_realtime');
  });

  it('takes hosts and credentials from environment variables, never literals', () => {
    for (const ds of datasources.datasources) {
      for (const [field, value] of [
        ['url', ds.url],
        ['user', ds.user],
        ['password', ds.secureJsonData.password],
      ] as const) {
        assert.match(value, /^\$\{[A-Z_]+\}$/, `${ds.uid} ${field} comes from the environment`);
      }
    }
  });

  it('every datasource uid a dashboard uses (panels, queries, variables) is provisioned', () => {
    const provisioned = new Set(datasources.datasources.map((d) => d.uid));
    for (const { file } of dashboardDefinitions) {
      const dashboard = committed(file);
      const uids = [
        ...allPanels(dashboard).flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]),
        ...(dashboard.templating.list ?? []).map((v: { datasource?: { uid?: string } }) => v.datasource?.uid),
      ].filter((u): u is string => u !== undefined);
      assert.ok(uids.length > 0);
      for (const uid of uids) assert.ok(provisioned.has(uid), `${file} uses ${uid}`);
    }
  });

  it('has a file provider putting the dashboards in a folder', () => {
    assert.equal(providers.apiVersion, 1);
    const [provider] = providers.providers;
    assert.equal(provider?.type, 'file');
    assert.equal(provider?.folder, 'Lambdamart');
    assert.ok(provider?.options.path.startsWith('/'));
  });
});
