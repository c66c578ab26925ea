import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyOf, filterVariable, inSegments, keyIn } from './filters.ts';
import { interpolateVariables, type Variables } from './macros.ts';

// The variables as the dashboards define them: multi-value, All with the custom value '__all'.
const state = (current: string[] | '$__all'): Variables[string] => {
  const built = filterVariable('country').build();
  return { multi: built.multi, includeAll: built.includeAll, allValue: built.allValue, options: ['DE', 'US'], current };
};

describe('dashboard filters', () => {
  it('with All, reduce to a constant true test (no list of every value)', () => {
    const sql = interpolateVariables(anyOf('country', 'g.country'), { country: state('$__all') });
    assert.equal(sql, "('__all' in ('__all') or g.country in ('__all'))");
  });

  it('with a selection, test the column against the quoted values', () => {
    const sql = interpolateVariables(anyOf('country', 'g.country'), { country: state(['DE', "O'Land"]) });
    assert.equal(sql, "('__all' in ('DE','O''Land') or g.country in ('DE','O''Land'))");
  });

  it('filter facts on their dimension keys and customers on the latest RFM segment', () => {
    const keys = interpolateVariables(keyIn('category', 'f.product_id_pk'), { category: state(['Books']) });
    assert.match(keys, /f\.product_id_pk in \(select product_id_pk from dim_products where category in \('Books'\)\)/);
    const segment = interpolateVariables(inSegments('f.user_id'), { segment: state(['Champions']) });
    assert.match(
      segment,
      /f\.user_id in \(\s*select r\.user_id from .*max\(analysis_date\).* where r\.rfm_segment in \('Champions'\)\)\)/s,
    );
  });

  it('are multi-value query variables with All selected, on the warehouse', () => {
    const v = filterVariable('segment').build();
    assert.equal(v.type, 'query');
    assert.equal(v.multi, true);
    assert.equal(v.includeAll, true);
    assert.equal(v.allValue, "'__all'");
    assert.deepEqual(v.current?.value, ['$__all']);
    assert.equal(v.datasource?.uid, 'lambdamart-warehouse');
  });
});
