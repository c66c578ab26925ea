import { createLogger, loadConfigOrExit } from '@lambdamart/core';
import { startServer } from '@lambdamart/serving-api';
import { type Command, InvalidArgumentError } from 'commander';
import { action, onStopSignals } from '../action.ts';
import { batchJobTrigger } from '../api-jobs.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a TCP port between 0 and 65535 (0: any free port)');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the REST API (merged batch + speed reads, job triggers, ingestion) with Swagger UI at /docs')
    .option('--port <port>', 'port to listen on (default: API_PORT or 8000; 0: any free port)', port)
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .action(
      action(async (opts: { port?: number; host: string }) => {
        const config = loadConfigOrExit();
        const logger = createLogger('serving-api', config.logLevel);
        const jobTrigger = batchJobTrigger(config, createLogger('batch-layer', config.logLevel));
        const server = await startServer({ config, logger, jobTrigger, port: opts.port, host: opts.host }).catch(async (error) => {
          await jobTrigger.stop();
          throw error;
        });
        const { urls } = server;
        process.stdout.write(`API listening on ${urls.api}\n  Swagger UI: ${urls.docs}\n  OpenAPI:    ${urls.openapi}\n`);
        process.stdout.write(`  Health:     ${urls.health}  Metrics: ${urls.metrics}\nCtrl-C stops it.\n`);
        // SIGTERM or Ctrl-C: stop accepting, finish the requests in flight, let triggered jobs end.
        let releaseSignals = () => {};
        await new Promise<void>((resolve) => {
          releaseSignals = onStopSignals(() => resolve());
        });
        await server.close();
        await jobTrigger.stop();
        releaseSignals();
      }),
    );
}
