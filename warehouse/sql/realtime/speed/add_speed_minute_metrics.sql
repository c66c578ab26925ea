-- add_speed_minute_metrics: what the move_* statements put in stage_metrics, added to the speed view.
-- The last statement before the commit, so the shared metric rows stay locked for as short a time as
-- possible, and in key order, so that concurrent batches cannot deadlock.
insert into speed_minute_metrics as m (minute, country, category, revenue, orders, units, views, cart_adds, cart_removes)
select minute, country, category, sum(revenue), sum(orders), sum(units), sum(views), sum(cart_adds), sum(cart_removes)
from stage_metrics
group by 1, 2, 3
order by 1, 2, 3
on conflict (minute, country, category) do update
set revenue = m.revenue + excluded.revenue, orders = m.orders + excluded.orders, units = m.units + excluded.units,
    views = m.views + excluded.views, cart_adds = m.cart_adds + excluded.cart_adds,
    cart_removes = m.cart_removes + excluded.cart_removes;
