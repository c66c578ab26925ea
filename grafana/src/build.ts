/**
 * npm run grafana:build: writes grafana/dashboards/*.json from the TypeScript dashboards and
 * removes stale files there. `--check` writes nothing and exits 1 when a committed file differs;
 * `--out DIR` writes (or checks) another folder.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dashboardsDir as defaultDir, generateDashboards } from './generate.ts';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, out: { type: 'string' } } });
const check = values.check;
const dashboardsDir = values.out ? resolve(values.out) : defaultDir;
const generated = generateDashboards();
mkdirSync(dashboardsDir, { recursive: true });
const existing = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'));
const stale: string[] = existing.filter((f) => !generated.some((g) => g.file === f));
for (const { file, json } of generated) {
  const path = join(dashboardsDir, file);
  const current = existing.includes(file) ? readFileSync(path, 'utf8') : null;
  if (current === json) continue;
  stale.push(file);
  if (!check) writeFileSync(path, json);
}
if (check) {
  if (stale.length) {
    process.stderr.write(`grafana/dashboards is stale (${stale.join(', ')}): run npm run grafana:build\n`);
    process.exit(1);
  }
  process.stdout.write(`grafana/dashboards: ${generated.length} dashboards up to date\n`);
} else {
  for (const file of existing.filter((f) => !generated.some((g) => g.file === f))) rmSync(join(dashboardsDir, file));
  process.stdout.write(`grafana/dashboards: wrote ${generated.length} dashboards (${stale.length} changed)\n`);
}
