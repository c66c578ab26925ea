import { LambdamartError } from '@lambdamart/core';
import { InvalidArgumentError } from 'commander';

/**
 * Wraps a command so that a known failure prints one line and exits 1, never a bare stack trace.
 * A command returns its exit code (or nothing for 0).
 */
export function action<A extends unknown[]>(run: (...args: A) => Promise<unknown>) {
  return async (...args: A) => {
    try {
      const code = await run(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (error) {
      if (error instanceof LambdamartError) {
        process.stderr.write(`lambdamart: ${error.oneLine()}\n`);
      } else {
        process.stderr.write(`lambdamart: ${(error as Error).message ?? String(error)}\n`);
        if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`);
      }
      process.exitCode = 1;
    }
  };
}

/** Flag parsers for commander: a bad value stops with one line naming the flag and the value. */
export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected ${what}, a whole number >= 1`);
    return n;
  };
}

/**
 * Ctrl-C and SIGTERM for long-running commands: the first signal calls `stop` (a clean shutdown);
 * a repeat within `sameWithinMs` is the same Ctrl-C delivered twice (to the terminal's process
 * group and forwarded again by npm/npx) and is ignored; a later one forces an exit. The handlers
 * stay installed until the returned function is called, so no signal falls through to Node's
 * default of dying mid-shutdown.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void, options: { sameWithinMs?: number } = {}): () => void {
  const sameWithinMs = options.sameWithinMs ?? 1000;
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = Date.now();
      stop(signal);
    } else if (Date.now() - first > sameWithinMs) {
      process.stderr.write(`lambdamart: ${signal} again, stopping at once\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
