/**
 * The one way tests and benchmarks start the `lambdamart` command: a child Node running the CLI's
 * entry through tsx, as `npx lambdamart` does. A package of its own, with no dependencies, so
 * that the layers' tests can start the CLI without depending on it (the CLI depends on them).
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncReturns,
  spawn,
  spawnSync,
} from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI's entry file. */
export const cliEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The arguments of `node` that run `lambdamart <args>`. */
export function cliNodeArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', cliEntry, ...args];
}

/** Starts `lambdamart <args>`; the caller owns the child (its output, its exit, killing it). */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, cliNodeArgs(args), options);
}

/** Runs `lambdamart <args>` to its end, blocking, with its output as text. */
export function runCliSync(
  args: readonly string[],
  options: Omit<SpawnSyncOptionsWithStringEncoding, 'encoding'> = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, cliNodeArgs(args), { ...options, encoding: 'utf8' });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a child writes, gathered as it comes: read the fields once it has exited. */
export function collectOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    output.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output.stderr += chunk;
  });
  return output;
}

/** Runs `lambdamart <args>` to its end without blocking; resolves with its exit code and output. */
export function runCli(args: readonly string[], options: Omit<SpawnOptions, 'stdio'> = {}): Promise<CliResult> {
  const child = spawnCli(args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, ...output }));
  });
}
