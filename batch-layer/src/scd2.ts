/**
 * Merging the versions a model computed (a temp table of desired versions) into an SCD Type 2
 * dimension, in place and inside the job's transaction:
 *
 * - a natural key whose tracked versions did not change is left alone (its descriptive columns
 *   are refreshed), so a run with no new data changes nothing;
 * - a changed key keeps the surrogate keys of the versions that still exist (the version whose
 *   start falls in a desired version of the same attributes), gets new keys for new versions,
 *   and loses the versions that no longer exist, after the facts pointing at them have been
 *   re-pointed to the version valid at their event's time (only the facts from the first
 *   instant whose version changed: appending a version touches no older fact).
 *
 * The exclusion constraint (no overlapping validity per key) is checked row by row, so the old
 * versions of a changed key are first "parked" on disjoint one-microsecond ranges in year 1,
 * where they cannot collide with the final ranges written next.
 */
import type { PoolClient } from '@lambdamart/core';

export interface FactReference {
  table: string;
  naturalKey: string;
  timestamp: string;
}

export interface Scd2Dimension {
  table: string;
  key: string;
  naturalKey: string;
  tracked: readonly string[];
  descriptive: readonly string[];
  facts: readonly FactReference[];
}

export interface Scd2MergeResult {
  changedKeys: number;
  inserted: number;
  updated: number;
  deleted: number;
  repointed: number;
}

export const dimProducts: Scd2Dimension = {
  table: 'dim_products',
  key: 'product_id_pk',
  naturalKey: 'product_id',
  tracked: ['name', 'category', 'price'],
  descriptive: [],
  facts: [
    { table: 'fact_sales', naturalKey: 'product_id', timestamp: 'transaction_timestamp' },
    { table: 'fact_product_views', naturalKey: 'product_id', timestamp: 'event_timestamp' },
    { table: 'fact_cart_events', naturalKey: 'product_id', timestamp: 'event_timestamp' },
  ],
};

export const dimCustomers: Scd2Dimension = {
  table: 'dim_customers',
  key: 'customer_id',
  naturalKey: 'user_id',
  tracked: ['country', 'customer_segment'],
  descriptive: ['first_transaction_date', 'last_transaction_date', 'total_transactions', 'total_spent', 'avg_order_value'],
  facts: [
    { table: 'fact_sales', naturalKey: 'user_id', timestamp: 'transaction_timestamp' },
    { table: 'fact_product_views', naturalKey: 'user_id', timestamp: 'event_timestamp' },
    { table: 'fact_cart_events', naturalKey: 'user_id', timestamp: 'event_timestamp' },
  ],
};

const list = (cols: readonly string[], prefix = '') => cols.map((c) => `${prefix}${c}`).join(', ');

/** Merges `desired` (natural key, tracked, descriptive, effective_from, effective_to) into the dimension. */
export async function mergeScd2(client: PoolClient, dim: Scd2Dimension, desired: string): Promise<Scd2MergeResult> {
  const { table, key, naturalKey: nk, tracked, descriptive } = dim;
  const affected = `scd_affected_${table}`;
  const assigned = `scd_assigned_${table}`;
  const versionCols = [nk, ...tracked, 'effective_from', 'effective_to'];
  const existing = `select ${list(versionCols)} from ${table} where ${key} <> -1 and ${nk} in (select ${nk} from ${desired})`;

  // 1. The natural keys whose set of versions differs from the desired one, and from when: a
  //    version that only got a new end differs from that end on (an appended version leaves the
  //    older facts alone), any other difference from its start.
  await client.query(`drop table if exists ${affected}`);
  const changed = await client.query(
    `create temp table ${affected} on commit drop as
     with differences as (
       (select ${list(versionCols)} from ${desired} except ${existing})
       union all
       (${existing} except select ${list(versionCols)} from ${desired})
     ),
     paired as (
       select *, count(*) over (partition by ${list([nk, ...tracked, 'effective_from'])}) as sides
       from differences
     )
     select ${nk},
            min(case when sides > 1 then coalesce(effective_to, timestamptz 'infinity') else effective_from end) as changed_from
     from paired
     group by ${nk}`,
  );
  const result: Scd2MergeResult = { changedKeys: changed.rowCount ?? 0, inserted: 0, updated: 0, deleted: 0, repointed: 0 };

  if (result.changedKeys > 0) {
    // 2. A surrogate key for every desired version of a changed key: the existing version that
    //    starts inside it with the same attributes, else a new one.
    await client.query(`drop table if exists ${assigned}`);
    await client.query(
      `create temp table ${assigned} on commit drop as
       select d.*, coalesce(
         (select min(e.${key}) from ${table} e
          where e.${nk} = d.${nk} and e.${key} <> -1
            and (${list(tracked, 'e.')}) is not distinct from (${list(tracked, 'd.')})
            and e.effective_from >= d.effective_from
            and (d.effective_to is null or e.effective_from < d.effective_to)),
         nextval(pg_get_serial_sequence('${table}', '${key}'))
       ) as ${key}
       from ${desired} d
       where d.${nk} in (select ${nk} from ${affected})`,
    );
    // 3. Park the old versions of the changed keys out of the way.
    await client.query(
      `update ${table} e
       set effective_from = timestamptz '0001-01-01 00:00:00+00' + (2 * p.n) * interval '1 microsecond',
           effective_to = timestamptz '0001-01-01 00:00:00+00' + (2 * p.n + 1) * interval '1 microsecond',
           is_current = false
       from (select ${key}, row_number() over (order by ${key}) as n from ${table}
             where ${key} <> -1 and ${nk} in (select ${nk} from ${affected})) p
       where e.${key} = p.${key}`,
    );
    // 4. Kept versions take their final ranges; new versions are inserted.
    const setCols = [...tracked, ...descriptive, 'effective_from', 'effective_to'];
    const updated = await client.query(
      `update ${table} e
       set ${setCols.map((c) => `${c} = a.${c}`).join(', ')}, is_current = a.effective_to is null
       from ${assigned} a
       where e.${key} = a.${key}`,
    );
    result.updated = updated.rowCount ?? 0;
    const insertCols = [key, nk, ...tracked, ...descriptive, 'effective_from', 'effective_to'];
    const inserted = await client.query(
      `insert into ${table} (${list(insertCols)}, is_current)
       select ${list(insertCols, 'a.')}, a.effective_to is null
       from ${assigned} a
       where not exists (select 1 from ${table} e where e.${key} = a.${key})`,
    );
    result.inserted = inserted.rowCount ?? 0;
    // 5. Facts of the changed keys point at the version valid at their event's time.
    for (const fact of dim.facts) {
      const repointed = await client.query(
        `with target as (
           select f.event_id, f.event_date, coalesce(e.${key}, -1) as new_key
           from ${fact.table} f
           left join ${table} e
             on e.${nk} = f.${fact.naturalKey}
            and e.${key} <> -1
            and f.${fact.timestamp} >= e.effective_from
            and (e.effective_to is null or f.${fact.timestamp} < e.effective_to)
           where exists (select 1 from ${affected} a
                         where a.${nk} = f.${fact.naturalKey} and f.${fact.timestamp} >= a.changed_from)
         )
         update ${fact.table} f set ${key} = t.new_key
         from target t
         where f.event_id = t.event_id and f.event_date = t.event_date and f.${key} <> t.new_key`,
      );
      result.repointed += repointed.rowCount ?? 0;
    }
    // 6. Versions that no longer exist go.
    const deleted = await client.query(
      `delete from ${table} e
       where e.${key} <> -1 and e.${nk} in (select ${nk} from ${affected})
         and not exists (select 1 from ${assigned} a where a.${key} = e.${key})`,
    );
    result.deleted = deleted.rowCount ?? 0;
  }

  // 7. Unchanged keys: refresh the descriptive columns of their versions.
  if (descriptive.length > 0) {
    const refreshed = await client.query(
      `update ${table} e
       set ${descriptive.map((c) => `${c} = d.${c}`).join(', ')}
       from ${desired} d
       where e.${nk} = d.${nk} and e.effective_from = d.effective_from and e.${key} <> -1
         and (${list(descriptive, 'e.')}) is distinct from (${list(descriptive, 'd.')})`,
    );
    result.updated += refreshed.rowCount ?? 0;
  }
  return result;
}
