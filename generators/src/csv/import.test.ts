import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { GeneratedEvent } from '../generated-event.ts';
import type { EventSink } from '../sinks.ts';
import { deriveUuid, OrderLevelProduct } from './convert.ts';
import { importCsv } from './import.ts';
import type { ImportType } from './mapping.ts';
import { describePlan, planImport } from './plan.ts';

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
      values.push(...batchValues.map(String));
    },
  };
}

async function importText(name: string, text: string, type: ImportType, extra: { map?: [string, string][]; productsFile?: string } = {}) {
  const file = join(dir, name);
  writeFileSync(file, text);
  const plan = await planImport(file, type, extra.map);
  const sink = memorySink();
  const rejectsFile = `${file}.rejects.csv`;
  const passes: string[] = [];
  const summary = await importCsv(plan, sink, { type, rejectsFile, ...extra, onProgress: (p) => passes.push(p.pass) });
  const rejects = parse(readFileSync(rejectsFile, 'utf8'), { columns: true }) as { line: string; reason: string; record: string }[];
  const sent = sink.values.map((v, i) => ({ kind: sink.events[i]?.kind, event: JSON.parse(v) }));
  // Catalog records sent along with transactions (--products, the order-level placeholder) apart.
  const alongside = type === 'transactions' ? 'catalog' : undefined;
  return {
    plan,
    sink,
    summary,
    rejects,
    passes,
    events: sent.filter((e) => e.kind !== alongside).map((e) => e.event),
    catalog: sent.filter((e) => e.kind === alongside).map((e) => e.event),
  };
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
    const { events, rejects, summary } = await importText('Purchases.csv', text, 'transactions', { productsFile: products });
    assert.equal(events.length, 2);
    assert.deepEqual(events[0].products, [
      { product_id: 'milk', quantity: 1, price: 1.29 },
      { product_id: 'bread', quantity: 1, price: 2.49 },
    ]);
    assert.equal(events[0].total_amount, 3.78);
    assert.equal(events[0].transaction_timestamp, '2025-11-21T10:15:00.000Z');
    assert.equal(events[0].country, 'supermarket_1');
    assert.equal(events[0].transaction_id, deriveUuid(`transaction:${summary.contentId}:2`));
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

  it("derives ids from the file content and line: another day's Purchases.csv never reuses an id, the same file always does", async () => {
    const products = join(dir, 'catalog-days.csv');
    writeFileSync(products, 'product_name,unit_price\nMilk,1.29\nBread,2.49\n');
    const header = 'supermarket,timestamp,customer_id,items_list,total_amount';
    const monday = [header, '1,24/11/2025 10:15,cust_1,Milk,1.29', '2,24/11/2025 11:00,cust_2,Bread,2.49'].join('\n');
    const tuesday = [header, '1,25/11/2025 09:00,cust_3,Milk,1.29', '2,25/11/2025 09:30,cust_1,Bread,2.49'].join('\n');
    const idsOf = async (text: string) =>
      (await importText('Purchases.csv', text, 'transactions', { productsFile: products })).events.map((e) => e.transaction_id);
    const first = await idsOf(monday);
    const second = await idsOf(tuesday);
    assert.equal(first.length, 2);
    assert.equal(second.length, 2);
    assert.deepEqual(
      second.filter((id) => first.includes(id)),
      [],
      'two files of the same name and lines share no id',
    );
    assert.deepEqual(await idsOf(monday), first, 'a re-import of the same file is idempotent');
  });

  it('sends an invoice whose lines are spread through the file as one event, rejected whole when one line is bad', async () => {
    const text = [
      'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
      '536365,85123A,6,12/01/2010 08:26,2.55,17850,United Kingdom',
      '536366,22633,2,12/01/2010 08:28,1.85,13047,United Kingdom',
      '536367,84879,-1,12/01/2010 08:34,1.69,12583,France',
      '536365,71053,6,12/01/2010 08:26,3.39,17850,United Kingdom',
      '536366,22632,6,12/01/2010 08:28,1.85,13047,United Kingdom',
      '536367,84880,2,12/01/2010 08:34,1.00,12583,France',
      '536365,84406B,1,12/01/2010 08:26,2.75,17850,United Kingdom',
    ].join('\n');
    const { events, rejects, passes } = await importText('spread.csv', text, 'transactions');
    assert.deepEqual([passes[0], passes.at(-1)], ['scan', 'import'], 'progress through both passes');
    assert.deepEqual(
      events.map((e) => [e.transaction_id, e.products.map((l: { product_id: string }) => l.product_id), e.total_amount]),
      [
        [deriveUuid('transaction::536366'), ['22633', '22632'], 14.8],
        [deriveUuid('transaction::536365'), ['85123A', '71053', '84406B'], 38.39],
      ],
      'each invoice once, with all its lines',
    );
    assert.deepEqual(
      rejects.map((r) => r.line),
      ['4', '7'],
    );
  });

  it('dates products without a date from the earliest sale of the transactions imported with them (--products)', async () => {
    const products = join(dir, 'undated.csv');
    writeFileSync(products, 'product_name,unit_price,category\nMilk,1.29,Dairy\nBread,2.49,Bakery\n');
    const text = [
      'supermarket,timestamp,customer_id,items_list,total_amount',
      '1,21/11/2025 10:15,cust_1,Milk,1.29',
      '2,02/03/2024 08:05,cust_2,Bread,2.49',
      '3,31/02/2025 10:00,cust_3,Milk,1.29',
    ].join('\n');
    const { catalog, events, summary } = await importText('Purchases-old.csv', text, 'transactions', { productsFile: products });
    assert.equal(events.length, 2);
    assert.equal(summary.earliestSale, '2024-03-02T08:05:00.000Z');
    assert.deepEqual(catalog, [
      { product_id: 'milk', name: 'Milk', category: 'Dairy', price: 1.29, updated_at: '2024-03-02T08:05:00.000Z' },
      { product_id: 'bread', name: 'Bread', category: 'Bakery', price: 2.49, updated_at: '2024-03-02T08:05:00.000Z' },
    ]);
    assert.equal(summary.catalogSent, 2);
    // A product row that has its own date keeps it.
    writeFileSync(products, 'product_name,unit_price,updated_at\nMilk,1.29,2020-01-01\n');
    const dated = await importText('Purchases-dated.csv', text, 'transactions', { productsFile: products });
    assert.equal(dated.catalog[0]?.updated_at, '2020-01-01T00:00:00.000Z');
  });

  it('reads a whitespace-aligned text export, and rejects a row whose cells do not line up', async () => {
    const text = [
      'Customer ID    Order Date    Product          Qty    Unit Price',
      'C-001          2025-11-03    Whole Milk         2          1.29',
      'C-002          2025-11-03    Rye Bread          1          2.49',
      '',
      'C-001          2025-11-04    Olive Oil 1L       3         12.00',
      'C-003          2025-11-05                       1          9.99',
    ].join('\n');
    const { plan, events, rejects } = await importText('legacy-export.txt', text, 'transactions', {
      map: [['Product', 'product_id']],
    });
    assert.match(describePlan(plan)[0] as string, /whitespace-aligned \(runs of 2\+ spaces\), header row/);
    assert.deepEqual(
      events.map((e) => [e.user_id, e.products[0].product_id, e.products[0].quantity, e.products[0].price, e.transaction_timestamp]),
      [
        ['C-001', 'Whole Milk', 2, 1.29, '2025-11-03T00:00:00.000Z'],
        ['C-002', 'Rye Bread', 1, 2.49, '2025-11-03T00:00:00.000Z'],
        ['C-001', 'Olive Oil 1L', 3, 12, '2025-11-04T00:00:00.000Z'],
      ],
    );
    assert.deepEqual(
      rejects.map((r) => [r.line, r.reason]),
      [['6', 'columns: 4 cells where the whitespace-aligned file has 5 (an empty cell or a space inside one?)']],
    );
  });

  it('imports order-level rows (customer, date, quantity, amount) as one line of the placeholder product, at amount / quantity', async () => {
    const text = [
      'customer_id,date,quantity,amount',
      'c1,2025-01-05,3,10.00',
      'c2,2025-01-03,2,7.50',
      'c1,2025-02-01,0,5.00',
      'c3,2025-02-02,1,-4.00',
    ].join('\n');
    const { plan, events, catalog, rejects } = await importText('orders.csv', text, 'transactions');
    assert.match(describePlan(plan).join('\n'), /product_id\s+<- none: order-level rows/);
    assert.deepEqual(
      events.map((e) => [e.user_id, e.products, e.total_amount]),
      [
        [
          'c1',
          [
            { product_id: OrderLevelProduct.product_id, quantity: 2, price: 3.33 },
            { product_id: OrderLevelProduct.product_id, quantity: 1, price: 3.34 },
          ],
          10,
        ],
        ['c2', [{ product_id: OrderLevelProduct.product_id, quantity: 2, price: 3.75 }], 7.5],
      ],
    );
    // The placeholder is a product of the catalog, from the earliest sale on (not 'Unknown' in the warehouse).
    assert.deepEqual(catalog, [{ ...OrderLevelProduct, price: 0, updated_at: '2025-01-03T00:00:00.000Z' }]);
    assert.deepEqual(
      rejects.map((r) => [r.line, r.reason]),
      [
        ['4', 'quantity: 0 is not a whole number of units >= 1'],
        ['5', 'total_amount: -4 is negative (a return?): not a sale'],
      ],
    );
  });

  it('reads a headerless whitespace file with compact dates (the CDNOW layout) given --map', async () => {
    const text = ['00001 19970101  1  11.77', '00002 19970112  1  12.00', '00002 19970112  5  77.00', '00003 19970102  2  20.76'].join(
      '\n',
    );
    const { plan, events } = await importText('CDNOW_master.txt', text, 'transactions', {
      map: [
        ['1', 'user_id'],
        ['2', 'transaction_timestamp'],
        ['3', 'quantity'],
        ['4', 'total_amount'],
      ],
    });
    assert.equal(plan.detection.delimiter, 'whitespace');
    assert.equal(plan.detection.columns[1]?.dateFormat, 'ymd-compact');
    assert.deepEqual(
      events.map((e) => [e.user_id, e.transaction_timestamp, e.total_amount]),
      [
        ['00001', '1997-01-01T00:00:00.000Z', 11.77],
        ['00002', '1997-01-12T00:00:00.000Z', 12],
        ['00002', '1997-01-12T00:00:00.000Z', 77],
        ['00003', '1997-01-02T00:00:00.000Z', 20.76],
      ],
    );
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
