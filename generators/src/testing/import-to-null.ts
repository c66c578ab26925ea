/**
 * Imports a CSV into a sink that only counts, then prints one JSON line with the summary and the
 * peak resident memory: the memory test and the 1 GB measurement run this in a process of its own.
 *
 *   tsx generators/src/testing/import-to-null.ts <file.csv> <type> <rejects.csv>
 */
import { importCsv } from '../csv/import.ts';
import type { ImportType } from '../csv/mapping.ts';
import { planImport } from '../csv/plan.ts';

const [file, type, rejectsFile] = process.argv.slice(2) as [string, ImportType, string];
let events = 0;
const summary = await importCsv(
  await planImport(file, type),
  {
    async write(batch) {
      events += batch.length;
    },
  },
  { type, rejectsFile },
);
process.stdout.write(`${JSON.stringify({ ...summary, events, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
