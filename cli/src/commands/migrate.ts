import { loadConfigOrExit } from '@lambdamart/core';
import { type MigratedDatabase, migrateDown, migrationStatus } from '@lambdamart/warehouse';
import { type Command, Option } from 'commander';
import { action } from '../action.ts';
import { migrateAll } from '../stack.ts';
import { formatTable } from '../table.ts';

interface MigrateOptions {
  realtime?: boolean;
  warehouse?: boolean;
  down?: boolean;
  status?: boolean;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the SQL migrations of warehouse/sql to both databases (or one)')
    .addOption(new Option('--realtime', 'only the realtime database').conflicts('warehouse'))
    .addOption(new Option('--warehouse', 'only the warehouse database'))
    .addOption(new Option('--down', 'roll every migration back instead (drops the tables and their data)').conflicts('status'))
    .option('--status', 'list applied and pending migrations')
    .action(
      action(async (opts: MigrateOptions) => {
        const config = loadConfigOrExit();
        const only: MigratedDatabase | undefined = opts.realtime ? 'realtime' : opts.warehouse ? 'warehouse' : undefined;
        const targets = (['realtime', 'warehouse'] as const).filter((d) => !only || d === only);
        const url = (d: MigratedDatabase) => (d === 'realtime' ? config.realtimeDatabaseUrl : config.warehouseDatabaseUrl);
        if (opts.status) {
          const rows: string[][] = [];
          for (const d of targets) {
            const { applied, pending } = await migrationStatus(d, url(d));
            for (const name of applied) rows.push([d, name, 'applied']);
            for (const name of pending) rows.push([d, name, 'pending']);
          }
          process.stdout.write(`${formatTable(['database', 'migration', 'state'], rows)}\n`);
          return;
        }
        if (opts.down) {
          for (const d of targets) {
            const names = await migrateDown(d, url(d));
            process.stdout.write(`${d}: rolled back ${names.length ? names.join(', ') : 'nothing'}\n`);
          }
          return;
        }
        const applied = await migrateAll(config, only);
        for (const [d, names] of Object.entries(applied)) {
          process.stdout.write(`${d}: ${names.length ? `applied ${names.join(', ')}` : 'up to date'}\n`);
        }
      }),
    );
}
