import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstBatchAction, nextOffsetAfter, storedBeyondLog, unsaved } from './positions.ts';

describe('partition positions', () => {
  it('the first batch after an assignment is saved only if it starts where Postgres says', () => {
    assert.deepEqual(firstBatchAction('100', '100'), { action: 'save' });
    assert.deepEqual(firstBatchAction('100', '250'), { action: 'seek', offset: '100' }, 'Kafka ahead of Postgres: go back');
    assert.deepEqual(firstBatchAction('100', '40'), { action: 'seek', offset: '100' }, 'Kafka behind: skip what is saved');
    assert.deepEqual(firstBatchAction(null, '0'), { action: 'save' });
    assert.deepEqual(firstBatchAction(null, '77'), { action: 'seek', offset: '0' }, 'no row yet: from the start');
  });

  it('messages below the stored offset are already saved', () => {
    const messages = ['8', '9', '10', '11'].map((offset) => ({ offset }));
    assert.deepEqual(
      unsaved(messages, '10').map((m) => m.offset),
      ['10', '11'],
    );
    assert.equal(unsaved(messages, null).length, 4);
  });

  it('the next offset follows the last message, unless it adds nothing new', () => {
    assert.equal(nextOffsetAfter('11', '10'), '12');
    assert.equal(nextOffsetAfter('11', null), '12');
    assert.equal(nextOffsetAfter('9', '10'), null);
    assert.equal(nextOffsetAfter('9007199254740993', null), '9007199254740994', 'offsets are 64-bit');
  });
});

describe('storedBeyondLog', () => {
  it('only a stored offset past the high watermark is from a log that no longer exists', () => {
    assert.equal(storedBeyondLog('9000', '2000'), true);
    assert.equal(storedBeyondLog('2000', '2000'), false, 'all consumed: at the end, not past it');
    assert.equal(storedBeyondLog('10', '2000'), false);
    assert.equal(storedBeyondLog(null, '0'), false);
  });
});
