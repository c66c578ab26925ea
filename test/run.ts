/**
 * Runs the test files with Node's own test runner (through tsx, for TypeScript).
 * Node 20 cannot glob test files itself, so this finds them: every `*.test.ts` outside
 * node_modules, data and caches, or under the folders given as arguments.
 *
 *   tsx test/run.ts                 every test
 *   tsx test/run.ts core speed-layer   only those folders (or files)
 *   tsx test/run.ts --unit          only unit tests (files not named *.int.test.ts or under test/e2e)
 *
 * Files run one at a time: integration tests share one Kafka and one Postgres.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const skip = new Set(['node_modules', 'data', '.cache', '.git', '.turbo', 'dist']);

function findTests(dir: string, found: string[] = []): string[] {
  if (!statSync(dir).isDirectory()) return dir.endsWith('.test.ts') ? [...found, dir] : found;
  for (const entry of readdirSync(dir)) {
    if (skip.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, found);
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const folders = args.filter((arg) => !arg.startsWith('--'));
const isIntegration = (file: string) => file.endsWith('.int.test.ts') || relative(root, file).startsWith('test/');

const files = (folders.length ? folders.map((f) => resolve(f)) : [root])
  .flatMap((dir) => findTests(dir))
  .filter((file) => !unitOnly || !isIntegration(file))
  // Unit tests first: a broken contract shows up in seconds, before the slow tests start.
  .sort((a, b) => Number(isIntegration(a)) - Number(isIntegration(b)) || a.localeCompare(b));

if (files.length === 0) {
  process.stderr.write('test/run.ts: no *.test.ts files found\n');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...files.map((f) => relative(process.cwd(), f))],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
