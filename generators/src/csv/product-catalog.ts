/** A products CSV loaded whole: its valid rows as catalog records and as a lookup by product id and name. */
import { createReadStream } from 'node:fs';
import { type CatalogRecord, validateEvent } from '@lambdamart/core';
import { ProductLookup, type RowContext, toCatalogRecord } from './convert.ts';
import { planImport } from './plan.ts';
import { readRecords } from './read-records.ts';

/** A products CSV as a lookup by id and name, and its valid rows as catalog records (a few hundred rows). */
export async function loadProductCatalog(
  file: string,
  undatedTime = Date.now(),
): Promise<{ lookup: ProductLookup; records: CatalogRecord[] }> {
  const plan = await planImport(file, 'products');
  const lookup = new ProductLookup();
  const records: CatalogRecord[] = [];
  const input = createReadStream(file);
  try {
    for await (const item of readRecords(plan, input)) {
      if ('unreadable' in item) continue;
      const ctx: RowContext = {
        type: 'products',
        columns: plan.detection.columns,
        mapping: plan.mapping,
        sourceId: '',
        line: item.line,
        importTime: undatedTime,
      };
      try {
        const result = validateEvent('catalog', toCatalogRecord(ctx, item.record));
        if (result.ok) {
          lookup.add(result.value);
          records.push(result.value);
        }
      } catch {
        // A bad catalog row just leaves that product unknown; its transactions are rejected with that reason.
      }
    }
  } finally {
    input.destroy();
  }
  return { lookup, records };
}

/** Loads a products CSV into a lookup by id and by name. */
export async function loadProductLookup(file: string, importTime = Date.now()): Promise<ProductLookup> {
  return (await loadProductCatalog(file, importTime)).lookup;
}
