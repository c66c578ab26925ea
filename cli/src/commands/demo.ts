import { loadConfigOrExit } from '@lambdamart/core';
import { type Command, Option } from 'commander';
import { action, positiveInt } from '../action.ts';
import { runDemo } from '../demo.ts';
import { parseDuration } from './generate.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job (npm start): bring the stack up and run the whole pipeline, printing where to look')
    .addOption(new Option('--rate <events/s>', 'generator rate (default GENERATOR_RATE)').argParser(positiveInt('events per second')))
    .addOption(new Option('--duration <time>', 'stop by itself after this long: 60s, 5m (default: until Ctrl-C)').argParser(parseDuration))
    .addOption(new Option('--status-every <seconds>', 'seconds between status lines').argParser(positiveInt('seconds')).default(10))
    .action(
      action(async (opts: { rate?: number; duration?: number; statusEvery: number }) =>
        runDemo(loadConfigOrExit(), { rate: opts.rate, durationMs: opts.duration, statusEverySeconds: opts.statusEvery }),
      ),
    );
}
