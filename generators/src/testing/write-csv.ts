/** Writes a large transactions CSV (line-per-item, Online Retail style) of about `megabytes` MB, with a reject every 1000 rows. */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export async function writeLargeTransactionsCsv(file: string, megabytes: number): Promise<number> {
  const out = createWriteStream(file);
  out.write('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n');
  let bytes = 0;
  let rows = 0;
  const target = megabytes * 1e6;
  while (bytes < target) {
    let chunk = '';
    for (let i = 0; i < 2000; i++, rows++) {
      const invoice = 500000 + Math.floor(rows / 3);
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
