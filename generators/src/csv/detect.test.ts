import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeLines, detectCsv } from './detect.ts';

describe('detectCsv', () => {
  it('finds the delimiter, the header and the column types of a plain file', () => {
    const d = detectCsv('order_id,customer_id,amount,date\n1,c1,10.50,2025-11-01\n2,c2,"1,234.00",2025-11-02\n', true);
    assert.equal(d.delimiter, ',');
    assert.equal(d.hasHeader, true);
    assert.deepEqual(
      d.columns.map((c) => [c.name, c.type]),
      [
        ['order_id', 'integer'],
        ['customer_id', 'text'],
        ['amount', 'decimal'],
        ['date', 'date'],
      ],
    );
  });

  it('handles semicolons, a BOM, CRLF, empty lines, decimal commas and quoted delimiters and newlines', () => {
    const text = '\uFEFFname;price;updated\r\n"Milk; whole";1,29;01/02/2025\r\n\r\n"Bread\r\nsliced";"1.234,50";25/12/2025\r\n';
    const d = detectCsv(text, true);
    assert.equal(d.bom, true);
    assert.equal(d.delimiter, ';');
    assert.equal(d.hasHeader, true);
    assert.equal(d.columns[0]?.name, 'name', 'the BOM is not part of the first name');
    assert.equal(d.columns[1]?.type, 'decimal');
    assert.equal(d.columns[1]?.numberStyle, 'comma');
    assert.equal(d.columns[2]?.dateFormat, 'dmy');
  });

  it('tells tabs and pipes, and files without a header', () => {
    assert.equal(detectCsv('a\tb\tc\n1\t2\t3\n', true).delimiter, '\t');
    assert.equal(detectCsv('a|b\n1|2\n', true).delimiter, '|');
    const d = detectCsv('17,c1,10.5,1764547200\n18,c2,3.25,1764633600\n', true);
    assert.equal(d.hasHeader, false);
    assert.deepEqual(
      d.columns.map((c) => c.name),
      ['column_1', 'column_2', 'column_3', 'column_4'],
    );
    assert.equal(d.columns[3]?.dateFormat, 'epoch-s');
  });

  it('detects whitespace-aligned columns: runs of spaces around cells with words, any blank between numbers', () => {
    const aligned = detectCsv(
      'Customer ID    Order Date    Product       Qty\nC-001          2025-11-03    Whole Milk      2\nC-002          2025-11-04    Rye Bread      10\n',
      true,
    );
    assert.equal(aligned.delimiter, 'spaces');
    assert.equal(aligned.hasHeader, true);
    assert.deepEqual(
      aligned.columns.map((c) => [c.name, c.type]),
      [
        ['Customer ID', 'text'],
        ['Order Date', 'date'],
        ['Product', 'text'],
        ['Qty', 'integer'],
      ],
    );
    const numbers = detectCsv('  00001 19970101  1  11.77\n  00002 19970112  1  12.00\n  00002 19970112  5 177.00\n', true);
    assert.equal(numbers.delimiter, 'whitespace');
    assert.deepEqual(
      numbers.columns.map((c) => c.type),
      ['integer', 'date', 'integer', 'decimal'],
    );
    // A comma-separated file with blanks after its commas stays comma-separated, one with words too.
    assert.equal(detectCsv('a, b, c\n1, 2, 3\n4, 5, 6\n', true).delimiter, ',');
    assert.equal(detectCsv('name,city\nJohn Smith,New York\nAnn Lee,San Jose\n', true).delimiter, ',');
    // Aligned amounts with thousands separators split alike on commas too, into fewer columns.
    const amounts = detectCsv(
      'customer    date          amount\nC-001       2025-11-03    1,234.50\nC-002       2025-11-04    2,000.00\n',
      true,
    );
    assert.equal(amounts.delimiter, 'spaces');
    assert.equal(amounts.columns[2]?.type, 'decimal');
  });

  it('cuts a sample at its last complete line, never inside quotes', () => {
    assert.equal(completeLines('a,b\n1,"x\ny', false), 'a,b\n');
    assert.equal(completeLines('a,b\n1,2\n3,', false), 'a,b\n1,2\n');
  });
});
