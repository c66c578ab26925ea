/**
 * The dashboard filters: country, category and customer segment, multi-value with All. All is the
 * custom value `'__all'`, which Grafana substitutes unformatted, so every filter reads
 * `('__all' in (${var:sqlstring}) or <column> in (${var:sqlstring}))`: with All, Postgres folds
 * the first test to true at plan time and filters nothing (no list of every value, and rows whose
 * value is not an option, such as customers without an RFM score yet, stay in).
 */
import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { Datasources } from './datasources.ts';

export const allValue = `'__all'`;

export type FilterName = 'country' | 'category' | 'segment';

/** The RFM scores of the latest analysis: the segment each customer is in now. */
export const latestRfm = `(select * from rfm_analysis where analysis_date = (select max(analysis_date) from rfm_analysis))`;

/** `column` is one of the selected values of `variable`, or All is selected. */
export function anyOf(variable: FilterName, column: string): string {
  return `(${allValue} in (\${${variable}:sqlstring}) or ${column} in (\${${variable}:sqlstring}))`;
}

/**
 * The dimension key `keyColumn` (a fact's geography_id or product_id_pk) is one whose `variable`
 * attribute is selected. Filtering facts on their keys, not on a joined column, lets a panel
 * that shows no dimension column skip the join altogether (Postgres drops an unused left join).
 */
export function keyIn(variable: 'country' | 'category', keyColumn: string): string {
  const keys =
    variable === 'country'
      ? `select geography_id from dim_geography where country in (\${country:sqlstring})`
      : `select product_id_pk from dim_products where category in (\${category:sqlstring})`;
  return `(${allValue} in (\${${variable}:sqlstring}) or ${keyColumn} in (${keys}))`;
}

/** The customer `userColumn` is in one of the selected segments (of the latest RFM analysis). */
export function inSegments(userColumn: string): string {
  return `(${allValue} in (\${segment:sqlstring}) or ${userColumn} in (
      select r.user_id from ${latestRfm} r where r.rfm_segment in (\${segment:sqlstring})))`;
}

const variableQueries: Record<FilterName, { label: string; sql: string }> = {
  country: { label: 'Country', sql: 'select distinct country from dim_geography order by 1' },
  category: { label: 'Category', sql: 'select distinct category from dim_products order by 1' },
  segment: { label: 'Segment', sql: 'select distinct rfm_segment from rfm_analysis order by 1' },
};

/** The warehouse-backed variable `name`: multi-value, with All (the custom `'__all'`) selected first. */
export function filterVariable(name: FilterName): QueryVariableBuilder {
  const { label, sql } = variableQueries[name];
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(Datasources.warehouse)
    .query(sql)
    .multi(true)
    .includeAll(true)
    .allValue(allValue)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** The SQL of each variable's options, for the checks. */
export const variableSql = Object.fromEntries(Object.entries(variableQueries).map(([k, v]) => [k, v.sql])) as Record<FilterName, string>;
