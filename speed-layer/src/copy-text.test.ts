import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyField, copyLine } from './copy-text.ts';

describe('COPY text format', () => {
  it('escapes what would end a field or a row, and writes null as \\N', () => {
    assert.equal(copyField(null), '\\N');
    assert.equal(copyField(12.5), '12.5');
    assert.equal(copyField('plain'), 'plain');
    assert.equal(copyField('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
    assert.equal(copyField('\\N'), '\\\\N', 'the text \\N is not a null');
  });

  it('joins a row with tabs and ends it with a newline', () => {
    assert.equal(copyLine(['a', 1, null, 'x\ty']), 'a\t1\t\\N\tx\\ty\n');
  });
});
