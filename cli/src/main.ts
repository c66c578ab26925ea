#!/usr/bin/env tsx
/**
 * `lambdamart`: one entry point that wires the layers together. This file only lists the
 * commands; each lives in commands/<name>.ts and its work in the layer it belongs to.
 */
import { Command } from 'commander';
import { registerBatch } from './commands/batch.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerImport } from './commands/import.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerServe } from './commands/serve.ts';
import { registerSpeed } from './commands/speed.ts';
import { registerStack } from './commands/stack.ts';

const program = new Command('lambdamart')
  .description('Lambdamart: a Lambda-architecture sales data platform')
  .configureOutput({ outputError: (text, write) => write(`lambdamart: ${text.replace(/^error: /, '')}`) })
  .showSuggestionAfterError(true);

registerStack(program);
registerMigrate(program);
registerDemo(program);
registerGenerate(program);
registerImport(program);
registerBatch(program);
registerSpeed(program);
registerDlq(program);
registerServe(program);

await program.parseAsync(process.argv);
