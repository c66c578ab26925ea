import { loadConfigOrExit } from '@lambdamart/core';
import type { Command } from 'commander';
import { action } from '../action.ts';
import { runDemo } from '../demo.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job (npm start): bring the stack up and run the pipeline end to end, printing where to look')
    .action(action(async () => runDemo(loadConfigOrExit())));
}
