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
