import { loadConfigOrExit } from '@lambdamart/core';
import type { Command } from 'commander';
import { action } from '../action.ts';
import { stackDown, stackStatus, stackUp } from '../stack.ts';

export function registerStack(program: Command): void {
  const stack = program.command('stack').description('the local Kafka and PostgreSQL, without Docker');
  stack
    .command('up')
    .description('install what is missing, start Kafka and PostgreSQL, create topics and databases, migrate')
    .option('-q, --quiet', 'print nothing unless something fails')
    .action(action(async (opts: { quiet?: boolean }) => stackUp(loadConfigOrExit(), { quiet: opts.quiet ?? false })));
  stack
    .command('down')
    .description('stop what `stack up` started (a PostgreSQL that was already running is left alone)')
    .action(action(async () => stackDown(loadConfigOrExit())));
  stack
    .command('status')
    .description('each component, its address and health; exits 1 when one is down')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (opts: { json?: boolean }) => {
        const status = await stackStatus(loadConfigOrExit());
        process.stdout.write(`${opts.json ? JSON.stringify(status.components) : status.text}\n`);
        return status.healthy ? 0 : 1;
      }),
    );
}
