import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSaverSql, statementOf } from './saver-sql.ts';

describe('saver SQL files', () => {
  it('statementOf drops the trailing semicolon and keeps the comments', () => {
    assert.equal(statementOf('-- why\nselect 1;\n'), '-- why\nselect 1');
    assert.equal(statementOf('select 1'), 'select 1');
  });

  it('every statement is read, one statement each, numbered parameters only (no psql variables)', async () => {
    const sql = await loadSaverSql();
    for (const [name, text] of Object.entries(sql)) {
      assert.ok(text.length > 0, name);
      assert.doesNotMatch(text, /:'[a-z_]+'/, `${name} has no psql variable`);
      if (name !== 'staging_tables') assert.doesNotMatch(text.replace(/--.*$/gm, ''), /;/, `${name} is one statement`);
    }
    assert.match(sql.move_product_views, /insert into product_view_events/);
    assert.match(sql.advance_stored_offset, /next_offset = \$4[\s\S]*next_offset = \$5/);
  });
});
