import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { type ErrorCode, ErrorCodes, LambdamartError, RetriableErrorCodes } from './errors.ts';

interface DocumentedCode {
  code: string;
  meaning: string;
  retriable: string;
  action: string;
}

/** The rows of the README's "Error codes" table: `| \`CODE\` | meaning | yes/no | what to do |`. */
function documentedCodes(readme: string): DocumentedCode[] {
  const start = readme.indexOf('\n## Error codes\n');
  assert.ok(start >= 0, 'the README has a section "## Error codes"');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.slice(1, -1).split(' | ');
      assert.equal(cells.length, 4, `four columns: ${line}`);
      const [code, meaning, retriable, action] = cells.map((cell) => cell.trim()) as [string, string, string, string];
      return { code: code.replace(/^`|`$/g, ''), meaning, retriable, action };
    });
}

const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const documented = documentedCodes(readme);
const catalogued = Object.keys(ErrorCodes) as ErrorCode[];

describe('the error catalogue and the README agree', () => {
  it('lists every code of the catalogue once, and no other', () => {
    const names = documented.map((d) => d.code);
    assert.deepEqual(
      names.filter((name, i) => names.indexOf(name) !== i),
      [],
      'no code twice in the README',
    );
    assert.deepEqual(
      catalogued.filter((code) => !names.includes(code)),
      [],
      'codes of core/src/errors.ts missing from the README',
    );
    assert.deepEqual(
      names.filter((name) => !(name in ErrorCodes)),
      [],
      'codes in the README that core/src/errors.ts does not have',
    );
  });

  it('gives each code the meaning and the retriable flag of the catalogue, and something to do', () => {
    for (const { code, meaning, retriable, action } of documented) {
      if (!(code in ErrorCodes)) continue;
      assert.equal(meaning, ErrorCodes[code as ErrorCode], `${code}: the README's meaning is the catalogue's`);
      assert.equal(retriable, RetriableErrorCodes.has(code as ErrorCode) ? 'yes' : 'no', `${code}: retriable`);
      assert.ok(action.length > 0, `${code}: says what to do`);
    }
  });
});

describe('LambdamartError', () => {
  it('is retriable exactly when its code is', () => {
    assert.equal(new LambdamartError('LM_ERR_KAFKA_UNREACHABLE', 'no broker').retriable, true);
    assert.equal(new LambdamartError('LM_ERR_CONFIG_INVALID', 'bad value').retriable, false);
  });

  it('reads as the message and its hint in one line', () => {
    assert.equal(
      new LambdamartError('LM_ERR_STACK_START', 'kafka did not start', { hint: 'see the log' }).oneLine(),
      'kafka did not start (see the log)',
    );
  });
});
