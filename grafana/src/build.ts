/**
 * npm run grafana:build: writes grafana/dashboards/*.json from the TypeScript dashboards and
 * removes stale files there. `--check` writes nothing and exits 1 when a committed file differs.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardsDir, generateDashboards } from './generate.ts';

const check = process.argv.includes('--check');
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
