/**
 * 6. Pipeline health: what the speed layer saves (per minute and topic, freshness, dead letters,
 * consumer offsets) from the realtime database, and what the batch layer did (job runs, data
 * quality, watermarks) from the warehouse.
 */
import { Topics } from '@lambdamart/core';
import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { dataTable, timeSeries, valueStat } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const rt = Datasources.realtime;
const wh = Datasources.warehouse;

export const pipelineUid = 'lambdamart-pipeline-health';

/** The realtime table each topic's saver writes. */
const savedTables: [topic: string, table: string][] = [
  [Topics.transactions.name, 'transactions'],
  [Topics.productViews.name, 'product_view_events'],
  [Topics.cartEvents.name, 'cart_events'],
  [Topics.productCatalog.name, 'product_catalog_events'],
];

export function pipelineHealth(): BuiltDashboard {
  const board = Board.create(pipelineUid, 'Pipeline health');
  board.builder.description(
    'Speed layer: events saved, freshness, dead letters, offsets. Batch layer: job runs, data quality, watermarks.',
  );
  lambdamartDashboard(board.builder, { from: 'now-6h', refresh: '30s', filters: [] });

  board
    .row('Speed layer')
    .add(
      16,
      8,
      timeSeries('Events saved per minute', rt, 'short', 'Rows the savers committed per minute (by ingested_at), by source topic.'),
      new SqlQuery(
        rt,
        'time_series',
        `with saved as (
${savedTables
  .map(
    ([topic, table]) =>
      `    select date_trunc('minute', ingested_at) as minute, '${topic}' as topic, count(*) as events
    from ${table} where $__timeFilter(ingested_at) group by 1`,
  )
  .join('\n    union all\n')}
)
-- Counted per minute on cheap timestamp arithmetic first; $__timeGroup then buckets the few rows.
select $__timeGroupAlias(minute, '1m'), topic, sum(events) as events
from saved
group by 1, topic
order by 1, topic`,
      ).expects('topic', 'events'),
    )
    .add(
      8,
      8,
      valueStat(
        'Freshness',
        rt,
        's',
        'Now minus the latest ingested_at of each topic’s table: how long since its saver last committed a row.',
      ),
      new SqlQuery(
        rt,
        'table',
        `select ${savedTables
          .slice(0, 3)
          .map(([topic, table]) => `extract(epoch from now() - (select max(ingested_at) from ${table}))::numeric(12, 1) as "${topic}"`)
          .join(',\n       ')}`,
      ).expects(...savedTables.slice(0, 3).map(([topic]) => topic)),
    );

  board
    .row()
    .add(
      12,
      8,
      timeSeries('Dead letters per minute', rt, 'short', 'Events that failed validation, by source topic.'),
      new SqlQuery(
        rt,
        'time_series',
        `with per_minute as (
    select date_trunc('minute', ingested_at) as minute, source_topic, count(*) as dead_letters
    from dead_letters
    where $__timeFilter(ingested_at)
    group by 1, 2
)
select $__timeGroupAlias(minute, '1m'), source_topic, sum(dead_letters) as dead_letters
from per_minute
group by 1, source_topic
order by 1, source_topic`,
      ).expects('source_topic', 'dead_letters'),
    )
    .add(
      12,
      8,
      dataTable('Latest dead-letter reasons', rt, 'Each reason in range, how often, and when last seen.', 'last_seen'),
      new SqlQuery(
        rt,
        'table',
        `select reason, source_topic, count(*) as dead_letters, max(ingested_at) as last_seen
from dead_letters
where $__timeFilter(ingested_at)
group by reason, source_topic
order by last_seen desc
limit 50`,
      ).expects('reason', 'source_topic', 'dead_letters', 'last_seen'),
    );

  board.row().add(
    24,
    7,
    dataTable('Consumer offsets', rt, 'The savers’ next offset per topic and partition (committed with the rows), and its age.'),
    new SqlQuery(
      rt,
      'table',
      `select group_id, topic, partition, next_offset, updated_at,
       extract(epoch from now() - updated_at)::numeric(12, 1) as age_s
from consumer_offsets
order by group_id, topic, partition`,
    ).expects('group_id', 'topic', 'partition', 'next_offset', 'updated_at'),
  );

  board
    .row('Batch layer')
    .add(
      12,
      8,
      timeSeries('Job durations', wh, 's', 'Seconds each finished batch job run took, by job.'),
      new SqlQuery(
        wh,
        'time_series',
        `select $__time(started_at), job_name, extract(epoch from finished_at - started_at)::numeric(12, 3) as duration_s
from job_runs
where $__timeFilter(started_at)
  and finished_at is not null
order by started_at, job_name`,
      ).expects('job_name', 'duration_s'),
    )
    .add(
      12,
      8,
      dataTable('Watermarks', wh, 'Up to which ingested_at each job has processed the realtime rows, and how far behind now.'),
      new SqlQuery(
        wh,
        'table',
        `select job_name, watermark, extract(epoch from now() - watermark)::numeric(12, 1) as behind_s, updated_at
from etl_watermarks
order by job_name`,
      ).expects('job_name', 'watermark', 'behind_s'),
    );

  board.row().add(
    24,
    10,
    dataTable('Job runs', wh, 'Batch job runs in range, newest first: status, duration, rows and error.', 'started_at'),
    new SqlQuery(
      wh,
      'table',
      `select run_id, job_name, status, started_at, finished_at,
       extract(epoch from coalesce(finished_at, now()) - started_at)::numeric(12, 3) as duration_s,
       rows_in, rows_out, triggered_by, error
from job_runs
where $__timeFilter(started_at)
order by started_at desc
limit 200`,
    ).expects('run_id', 'job_name', 'status', 'started_at', 'duration_s'),
  );

  board.row().add(
    24,
    9,
    dataTable(
      'Data quality: latest result of each check',
      wh,
      'The newest result of every check, failing ones first, with how many rows failed.',
    ),
    new SqlQuery(
      wh,
      'table',
      `select check_name, passed, failing_rows, checked_at, run_id
from data_quality_results
-- Every quality run records every check, so the newest run holds the latest result of each;
-- found on the primary key (run_id, check_name), however many runs there have been.
where run_id = (select max(run_id) from data_quality_results)
order by passed, check_name`,
    ).expects('check_name', 'passed', 'failing_rows', 'checked_at'),
  );
  return board.build();
}
