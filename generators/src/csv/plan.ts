/**
 * The plan of an import: the file's layout detected from its first 64 KiB and its columns mapped
 * to fields (planImport), and that plan as lines for a person (describePlan).
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { LambdamartError } from '@lambdamart/core';
import { isOrderLevel, OrderLevelProduct } from './convert.ts';
import { type CsvDetection, detectCsv, isWhitespaceDelimiter } from './detect.ts';
import { type ColumnMapping, type ImportType, mapColumns, missingRequired } from './mapping.ts';

export interface ImportPlan {
  file: string;
  type: ImportType;
  detection: CsvDetection;
  mapping: ColumnMapping;
  /** Whether CRLF ends the lines (csv-parse counts a quoted CRLF as two lines; we correct for it). */
  crlf: boolean;
}

const SampleBytes = 64 * 1024;

/** Reads the first 64 KiB, detects the layout and maps the columns; throws a one-line Error when it cannot. */
export async function planImport(file: string, type: ImportType, map: [string, string][] = []): Promise<ImportPlan> {
  const handle = await open(file, 'r');
  let sample: string;
  let whole: boolean;
  try {
    const buffer = Buffer.alloc(SampleBytes);
    const { bytesRead } = await handle.read(buffer, 0, SampleBytes, 0);
    whole = bytesRead < SampleBytes;
    sample = buffer.subarray(0, bytesRead).toString('utf8');
    // A multi-byte character cut at the end of the sample decodes as U+FFFD: drop it.
    if (!whole) sample = sample.replace(/\uFFFD+$/, '');
  } finally {
    await handle.close();
  }
  if (sample.replace(/^\uFEFF/, '').trim() === '') throw new LambdamartError('LM_ERR_IMPORT_FILE_EMPTY', `${file} is empty`);
  const detection = detectCsv(sample, whole);
  const mapping = mapColumns(type, detection.columns, map);
  const missing = missingRequired(type, mapping);
  if (missing.length > 0) {
    throw new LambdamartError(
      'LM_ERR_IMPORT_FIELD_UNMAPPED',
      `cannot map ${missing.join(', ')} to a column of ${basename(file)} (columns: ${detection.columns.map((c) => c.name).join(', ')}); use --map column=field`,
    );
  }
  return { file, type, detection, mapping, crlf: /\r\n/.test(sample) };
}

const delimiterNames: Record<string, string> = {
  '\t': 'tab',
  spaces: 'whitespace-aligned (runs of 2+ spaces)',
  whitespace: 'whitespace-aligned (any spaces)',
};

/** The detected mapping as lines for a person: `price <- "Unit Price" (decimal, 1.234,56)`. */
export function describePlan(plan: ImportPlan): string[] {
  const d = plan.detection;
  const delimiter = delimiterNames[d.delimiter] ?? JSON.stringify(d.delimiter);
  const lines = [
    `${basename(plan.file)}: ${isWhitespaceDelimiter(d.delimiter) ? delimiter : `delimiter ${delimiter}`}, ${d.hasHeader ? 'header row' : 'no header'}${d.bom ? ', UTF-8 BOM' : ''}${plan.crlf ? ', CRLF' : ''}`,
  ];
  for (const [field, index] of plan.mapping) {
    const c = d.columns[index];
    if (!c) continue;
    const detail =
      c.type === 'date'
        ? `date, ${c.dateFormat}`
        : c.type === 'decimal' || c.type === 'integer'
          ? `${c.type}, ${c.numberStyle === 'comma' ? '1.234,5' : '1,234.5'}`
          : c.type;
    lines.push(`  ${field.padEnd(22)} <- ${JSON.stringify(c.name)} (${detail})`);
  }
  if (isOrderLevel(plan.type, plan.mapping)) {
    lines.push(
      `  ${'product_id'.padEnd(22)} <- none: order-level rows, each one line of "${OrderLevelProduct.product_id}" at amount / quantity`,
    );
  }
  if (plan.type === 'products' && !plan.mapping.has('updated_at')) {
    lines.push(
      `  ${'updated_at'.padEnd(22)} <- none: dated at the import time (give this file as --products of the transactions import to date it from the earliest sale)`,
    );
  }
  return lines;
}
