/**
 * Writes a large transactions CSV (line-per-item, Online Retail style) of about `megabytes` MB,
 * three rows per invoice, with a reject every 1000 rows. `interleave` k spreads each invoice's
 * rows k rows apart (k invoices open at once), as files not sorted by invoice do.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export async function writeLargeTransactionsCsv(file: string, megabytes: number, options: { interleave?: number } = {}): Promise<number> {
  const out = createWriteStream(file);
  out.write('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n');
  const spread = options.interleave ?? 1;
  // Whole blocks of 3 x spread rows, so that every invoice has its three rows.
  const chunkRows = Math.ceil(2000 / (3 * spread)) * 3 * spread;
  let bytes = 0;
  let rows = 0;
  const target = megabytes * 1e6;
  while (bytes < target) {
    let chunk = '';
    for (let i = 0; i < chunkRows; i++, rows++) {
      const block = Math.floor(rows / (3 * spread));
      const invoice = 500000 + block * spread + ((rows % (3 * spread)) % spread);
      const quantity = rows % 1000 === 999 ? -1 : (rows % 5) + 1;
      const day = String((rows % 28) + 1).padStart(2, '0');
      chunk += `${invoice},SKU${rows % 4000},"Mug, ""large"" ${rows % 97}",${quantity},${day}/11/2025 10:${String(rows % 60).padStart(2, '0')},"1,${String(rows % 1000).padStart(3, '0')}.50",${10000 + (rows % 5000)},United Kingdom\r\n`;
    }
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}
