-- dim_date: one row per calendar day from the first to the last staged event date (UTC).
-- Days already present are left alone, so the table only grows.
insert into dim_date (
    date_id, full_date, year, quarter, month, month_name, day,
    day_of_week, day_name, week_of_year, iso_year, is_weekend
)
-- The first and last event instants of each staged kind (a UTC date grows with the instant, so
-- two conversions per kind rather than one per row).
with event_times as (
    select min(transaction_timestamp) as first_at, max(transaction_timestamp) as last_at from stg_transactions
    union all
    select min(event_timestamp), max(event_timestamp) from stg_product_views
    union all
    select min(event_timestamp), max(event_timestamp) from stg_cart_events
),

date_range as (
    select
        (min(first_at) at time zone 'UTC')::date as first_date,
        (max(last_at) at time zone 'UTC')::date as last_date
    from event_times
),

days as (
    select generate_series(first_date, last_date, interval '1 day')::date as full_date
    from date_range
    where first_date is not null
),

final as (
    select
        to_char(full_date, 'YYYYMMDD')::integer as date_id,
        full_date,
        extract(year from full_date)::smallint as year,
        extract(quarter from full_date)::smallint as quarter,
        extract(month from full_date)::smallint as month,
        trim(to_char(full_date, 'Month')) as month_name,
        extract(day from full_date)::smallint as day,
        extract(isodow from full_date)::smallint as day_of_week,
        trim(to_char(full_date, 'Day')) as day_name,
        extract(week from full_date)::smallint as week_of_year,
        extract(isoyear from full_date)::smallint as iso_year,
        extract(isodow from full_date) >= 6 as is_weekend
    from days
)

select * from final
on conflict (date_id) do nothing;
