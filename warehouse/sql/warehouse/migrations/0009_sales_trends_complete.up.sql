-- sales_trends.is_complete: whether the period ended before the analysis date (the analysis
-- date's own day is partial: a scheduled run analyses today). The current period, still
-- filling up, is therefore marked rather than compared as if it were whole. Rows already there
-- are marked from their own dates; every analytics run rewrites the table anyway.
alter table sales_trends add column is_complete boolean;

update sales_trends
set is_complete = case period_type
    when 'week' then period_start + 7
    when 'month' then cast(period_start + interval '1 month' as date)
    else cast(period_start + interval '3 months' as date)
end <= analysis_date;

alter table sales_trends alter column is_complete set not null;

comment on column sales_trends.growth_rate is
    'revenue growth vs the calendar-previous period of the same type and category; NULL when that period had no sales';
comment on column sales_trends.is_complete is
    'the period ended before analysis_date; false for the current (partial) period';
