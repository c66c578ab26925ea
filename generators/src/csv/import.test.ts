import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { GeneratedEvent } from '../generate.ts';
import type { EventSink } from '../sinks.ts';
import { deriveUuid } from './convert.ts';
import { describePlan, importCsv, planImport } from './import.ts';
import type { ImportType } from './mapping.ts';

const dir = mkdtempSync(join(tmpdir(), 'lambdamart-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function memorySink(): EventSink & { events: GeneratedEvent[]; values: string[] } {
  const events: GeneratedEvent[] = [];
  const values: string[] = [];
  return {
    events,
    values,
    async write(batch, batchValues) {
      events.push(...batch);
      values.push(...batchValues);
    },
  };
}

async function importText(name: string, text: string, type: ImportType, extra: { map?: [string, string][]; productsFile?: string } = {}) {
  const file = join(dir, name);
  writeFileSync(file, text);
  const plan = await planImport(file, type, extra.map);
  const sink = memorySink();
  const rejectsFile = `${file}.rejects.csv`;
  const summary = await importCsv(plan, sink, { type, rejectsFile, ...extra });
  const rejects = parse(readFileSync(rejectsFile, 'utf8'), { columns: true }) as { line: string; reason: string; record: string }[];
  return { plan, sink, summary, rejects, events: sink.values.map((v) => JSON.parse(v)) };
}

describe('importCsv', () => {
  it('imports an awkward products file: BOM, CRLF, semicolons, decimal commas, quoted delimiters and newlines, empty lines', async () => {
    const text = [
      '\uFEFFProduct Name;Unit Price;Category',
      'Whole Milk 1L;1,29;Dairy',
      '"Bread; sliced";2,49;Bakery',
      '',
      '"Gift box\r\nlarge";"1.234,50";Gifts',
      'Broken;abc;Dairy',
      ';3,00;Dairy',
      '',
    ].join('\r\n');
    const { events, rejects, summary, plan } = await importText('Products_list.csv', text, 'products');
    assert.match(describePlan(plan)[0] as string, /delimiter ";", header row, UTF-8 BOM, CRLF/);
    assert.deepEqual(
      events.map((e) => [e.product_id, e.name, e.price, e.category]),
      [
        ['whole-milk-1l', 'Whole Milk 1L', 1.29, 'Dairy'],
        ['bread-sliced', 'Bread; sliced', 2.49, 'Bakery'],
        ['gift-box-large', 'Gift box\r\nlarge', 1234.5, 'Gifts'],
      ],
    );
    assert.equal(summary.rows, 5);
    assert.equal(summary.sent, 3);
    assert.deepEqual(
      rejects.map((r) => [r.line, r.reason]),
      [
        ['7', 'price: "abc" is not a number'],
        ['8', 'product_id or name: missing'.replace('product_id or name', 'product_id')],
      ],
    );
    assert.equal(rejects[0]?.record, 'Broken;abc;Dairy');
  });

  it('imports Purchases.csv baskets priced from Products_list.csv, checking each total', async () => {
    const products = join(dir, 'catalog.csv');
    writeFileSync(products, 'product_name,unit_price\nMilk,1.29\nBread,2.49\nEggs,"1,234.50"\n');
    const text = [
      'supermarket,timestamp,customer_id,items_list,total_amount',
      '1,21/11/2025 10:15,cust_1,"Milk;Bread",3.78',
      '2,22/11/2025 11:00,cust_2,Eggs,"1,234.50"',
      '3,23/11/2025 12:00,cust_3,Milk,9.99',
      '1,24/11/2025 13:00,cust_4,Caviar,100',
      '2,25/11/2025 14:00,,Milk,1.29',
    ].join('\n');
    const { events, rejects } = await importText('Purchases.csv', text, 'transactions', { productsFile: products });
    assert.equal(events.length, 2);
    assert.deepEqual(events[0].products, [
      { product_id: 'milk', quantity: 1, price: 1.29 },
      { product_id: 'bread', quantity: 1, price: 2.49 },
    ]);
    assert.equal(events[0].total_amount, 3.78);
    assert.equal(events[0].transaction_timestamp, '2025-11-21T10:15:00.000Z');
    assert.equal(events[0].country, 'supermarket_1');
    assert.equal(events[0].transaction_id, deriveUuid('transaction:Purchases.csv:2'));
    assert.deepEqual(
      rejects.map((r) => [r.line, r.reason]),
      [
        ['4', 'total_amount: total_amount 9.99 is not the sum of the lines (1.29)'],
        ['5', 'items: unknown product "Caviar" (not in the --products catalog)'],
        ['6', 'user_id: missing'],
      ],
    );
  });

  it('groups line-per-item rows by transaction id and rejects every row of a transaction with a bad line', async () => {
    const text = [
      'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
      '536365,85123A,6,12/01/2010 08:26,2.55,17850,United Kingdom',
      '536365,71053,6,12/01/2010 08:26,3.39,17850,United Kingdom',
      '536366,22633,-6,12/01/2010 08:28,1.85,17850,United Kingdom',
      '536366,22632,6,12/01/2010 08:28,1.85,17850,United Kingdom',
      '536367,84879,32,12/01/2010 08:34,1.69,13047,United Kingdom',
    ].join('\n');
    const { events, rejects } = await importText('online-retail.csv', text, 'transactions');
    assert.equal(events.length, 2);
    assert.deepEqual(
      events.map((e) => [e.products.length, e.total_amount, e.user_id]),
      [
        [2, 35.64, '17850'],
        [1, 54.08, '13047'],
      ],
    );
    assert.equal(events[0].transaction_id, deriveUuid('transaction::536365'));
    assert.deepEqual(
      rejects.map((r) => r.line),
      ['4', '5'],
    );
    assert.match(rejects[0]?.reason ?? '', /products\[0\]\.quantity/);
    assert.equal(rejects[1]?.reason, rejects[0]?.reason, 'the whole transaction is rejected');
  });

  it('maps columns given with --map, imports views and carts with epoch and ISO times', async () => {
    const views = await importText('views.csv', 'who|what|when|secs\nu1|p1|1764547200|12\nu2|p2|1764547260|x\n', 'views', {
      map: [
        ['who', 'user_id'],
        ['what', 'product_id'],
        ['when', 'timestamp'],
        ['4', 'view_duration'],
      ],
    });
    assert.equal(views.events.length, 1);
    assert.equal(views.events[0].timestamp, '2025-12-01T00:00:00.000Z');
    assert.equal(views.events[0].view_duration, 12);
    assert.equal(views.rejects[0]?.reason, 'view_duration: "x" is not a number');
    const carts = await importText(
      'carts.csv',
      'user_id,product_id,action,qty,price,timestamp\nu1,p1,add_to_cart,2,9.99,2025-12-01T10:00:00Z\nu1,p1,checkout,1,9.99,2025-12-01T10:01:00Z\n',
      'carts',
    );
    assert.deepEqual(
      carts.events.map((e) => [e.event_type, e.quantity]),
      [['add', 2]],
    );
    assert.match(carts.rejects[0]?.reason ?? '', /neither add nor remove/);
  });

  it('refuses a file whose columns cannot be mapped, in one line naming the columns', async () => {
    const file = join(dir, 'mystery.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    await assert.rejects(
      planImport(file, 'views'),
      /cannot map user_id, product_id, timestamp to a column of mystery.csv \(columns: a, b\); use --map/,
    );
  });
});
