import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { README, withCurrentTables } from './readme-tables.ts';

describe('README outcome tables', () => {
  it('"What happens to a bad event" and "What a bad request gets" match the tables the tests run', () => {
    const readme = readFileSync(README, 'utf8');
    assert.equal(readme, withCurrentTables(readme), 'README.md is not current: run npx tsx test/reliability/input/readme-tables.ts');
  });
});
